import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { asProblem, session, type Problem } from '../api.js'
import { useStore } from '../store.js'

export interface Resource<T> {
  data: T | null
  problem: Problem | null
  loading: boolean
  reload: () => void
}

/** Loads `fetcher()` when a dep changes or after signing in; the latest answer wins. */
export function useResource<T> (fetcher: () => Promise<T>, deps: unknown[]): Resource<T> {
  const signedIn = useStore(session)
  const [state, setState] = useState<{ data: T | null, problem: Problem | null, loading: boolean }>({ data: null, problem: null, loading: true })
  const generation = useRef(0)
  const run = useCallback(() => {
    const mine = ++generation.current
    setState((s) => ({ ...s, loading: true }))
    fetcher().then(
      (data) => { if (mine === generation.current) setState({ data, problem: null, loading: false }) },
      (err: unknown) => { if (mine === generation.current) setState((s) => ({ data: s.data, problem: asProblem(err), loading: false })) },
    )
  }, [...deps, signedIn])
  useEffect(run, [run])
  return { ...state, reload: run }
}
