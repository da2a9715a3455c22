import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { asProblem, session, type Problem } from '../api.js'
import { useStore } from '../store.js'

export interface Resource<T> {
  data: T | null
  problem: Problem | null
  loading: boolean
  reload: () => void
}

/** a server restarting answers 503 or nothing for a moment: retryable failures are tried again, a few times */
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000]

/** Loads `fetcher()` when a dep changes or after signing in; the latest answer wins. */
export function useResource<T> (fetcher: () => Promise<T>, deps: unknown[]): Resource<T> {
  const signedIn = useStore(session)
  const [state, setState] = useState<{ data: T | null, problem: Problem | null, loading: boolean }>({ data: null, problem: null, loading: true })
  const generation = useRef(0)
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const run = useCallback(() => {
    const mine = ++generation.current
    clearTimeout(timer.current)
    setState((s) => ({ ...s, loading: true }))
    const attempt = (tries: number): void => {
      fetcher().then(
        (data) => { if (mine === generation.current) setState({ data, problem: null, loading: false }) },
        (err: unknown) => {
          if (mine !== generation.current) return
          const problem = asProblem(err)
          if ((problem.retryable === true || problem.code === 'NETWORK') && tries < RETRY_DELAYS_MS.length) {
            timer.current = setTimeout(() => attempt(tries + 1), RETRY_DELAYS_MS[tries])
            return
          }
          setState((s) => ({ data: s.data, problem, loading: false }))
        }
      )
    }
    attempt(0)
  }, [...deps, signedIn])
  useEffect(() => {
    run()
    return () => clearTimeout(timer.current)
  }, [run])
  return { ...state, reload: run }
}
