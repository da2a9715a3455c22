import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../../src/config.js'

// A self-signed P-256 certificate for CN=localhost (valid until 2126), its key, and an unrelated key.
export const CERT = `-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUQ/lLUKJQR+44WP57CmSE7sDG6rcwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyODAwMjgxMVoYDzIxMjYxMTA0
MDAyODExWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASo0XbMiWA3kz9CSLzjFS7leT23g79yfe6WReTtIykWqx+vLkRgurlg
DoXaRw+j4Ipmd8zZlzrRuDwp958ZISpTo1MwUTAdBgNVHQ4EFgQUh9ni21og3nFp
ZGwk5ZZEE20qWX0wHwYDVR0jBBgwFoAUh9ni21og3nFpZGwk5ZZEE20qWX0wDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiB/M0TaBcQcHxvSngHLhSxE
aPaigj6m9aE7byzsc4C1/QIhAOxZigUKXU04AqiIv5bNtC3iOF6CRBLtKK4DhzeH
n42g
-----END CERTIFICATE-----
`

export const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgWygFS6hnW3XOsHcY
0ZlFWRZZEROwfP99YJrGLuSELh2hRANCAASo0XbMiWA3kz9CSLzjFS7leT23g79y
fe6WReTtIykWqx+vLkRgurlgDoXaRw+j4Ipmd8zZlzrRuDwp958ZISpT
-----END PRIVATE KEY-----
`

export const OTHER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjGIr/4XDWBivpWY5
gH+D32Gqpi3mIJFdGX5Cp82rlxmhRANCAAR4qSWQzV+umd1RhBw2XqpbhEeLDETB
JdXWH/TwSr/ulbdb6QxcqwmmzYNU6ROQOUbNh7HwzjRuuT3TuVvkPzGs
-----END PRIVATE KEY-----
`

export function writeIn (dir: string, name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

/** The message of the ConfigError that `fn` throws (tap's t.throws would only match a substring of it). */
export function configErrorOf (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  throw new Error('expected a ConfigError')
}
