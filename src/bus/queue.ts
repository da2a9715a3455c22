/** A FIFO with O(1) push and shift that reclaims its consumed prefix in bulk. */
export interface Fifo<T> {
  push: (item: T) => void
  shift: () => T | undefined
  peek: () => T | undefined
  clear: () => void
  readonly length: number
}

export function createFifo<T> (): Fifo<T> {
  let items: T[] = []
  let head = 0
  return {
    push (item) { items.push(item) },
    shift () {
      if (head >= items.length) return undefined
      const item = items[head++]
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head)
        head = 0
      }
      return item
    },
    peek () { return head < items.length ? items[head] : undefined },
    clear () { items = []; head = 0 },
    get length () { return items.length - head },
  }
}
