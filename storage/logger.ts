/** The slice of pino's API storage and ops log through (a pino logger fits as is). */
export interface Logger {
  info: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

export const silentLogger: Logger = { info () {}, warn () {}, error () {} }
