interface Waiter {
  sequence: number
  resolve: (ok: boolean) => void
  timer?: NodeJS.Timeout
}

/** Waits on a rising number (a log's committed head), each bounded in time. */
export interface Waiters {
  /** true once the number reaches `sequence`, false when `timeoutMs` passes first */
  add: (sequence: number, timeoutMs: number) => Promise<boolean>
  /** the number is now `value`: resolves every waiter at or below it */
  reached: (value: number) => void
  readonly size: number
  /** resolves every waiter with false */
  clear: () => void
}

/** Waiters on a rising number, resolved in order as it passes them. */
export function createWaiters (): Waiters {
  let list: Waiter[] = []
  return {
    add (sequence, timeoutMs) {
      return new Promise((resolve) => {
        const w: Waiter = { sequence, resolve }
        w.timer = setTimeout(() => {
          list = list.filter((x) => x !== w)
          resolve(false)
        }, timeoutMs)
        let i = list.length
        while (i > 0 && list[i - 1].sequence > sequence) i--
        list.splice(i, 0, w)
      })
    },
    reached (value) {
      let n = 0
      while (n < list.length && list[n].sequence <= value) n++
      if (n === 0) return
      const done = list.slice(0, n)
      list = list.slice(n)
      for (const w of done) {
        clearTimeout(w.timer)
        w.resolve(true)
      }
    },
    get size () { return list.length },
    clear () {
      for (const w of list) {
        clearTimeout(w.timer)
        w.resolve(false)
      }
      list = []
    },
  }
}
