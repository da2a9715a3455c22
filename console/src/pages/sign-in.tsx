import { useEffect, useRef, useState } from 'preact/hooks'
import { signIn, signInNeeded } from '../api.js'
import { useStore } from '../store.js'

/** The token prompt, shown when the server answers 401 (http.md "Authentication"). */
export function SignIn () {
  const reason = useStore(signInNeeded)
  const [value, setValue] = useState('')
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => { if (reason !== null) input.current?.focus() }, [reason])
  if (reason === null) return null
  const submit = (e: Event): void => {
    e.preventDefault()
    if (value.trim() === '') return
    signIn(value.trim())
    setValue('')
  }
  return (
    <div class='overlay'>
      <div class='dialog' role='dialog' aria-modal='true' aria-labelledby='sign-in-title'>
        <form onSubmit={submit}>
          <h2 id='sign-in-title'>Sign in</h2>
          <p class='muted'>
            {reason === 'AUTH_FAILED' ? 'The server refused that token. ' : 'This server requires a token. '}
            It is kept in this tab only (sessionStorage) and sent as a Bearer header.
          </p>
          {reason === 'AUTH_FAILED' && <p class='error-text' role='alert'>Token refused (AUTH_FAILED)</p>}
          <label>
            Token
            <input ref={input} type='password' autoComplete='current-password' value={value} onInput={(e) => setValue(e.currentTarget.value)} />
          </label>
          <div class='actions'><button type='submit' class='primary'>Sign in</button></div>
        </form>
      </div>
    </div>
  )
}
