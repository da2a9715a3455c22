/** A configuration problem that stops startup: main prints the message to stderr and exits 1. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export function fail (reason: string): never {
  throw new ConfigError(reason)
}

/** Re-throws a reader's reason with the name of the variable or key it came from. */
export function named<T> (name: string, read: () => T): T {
  try {
    return read()
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`invalid ${name}: ${err.message}`)
    throw err
  }
}

/** Drops the syscall and path Node appends to OS errors, since our messages already name the file. */
export function reasonOf (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  return ('syscall' in err ? err.message.replace(/, \w+(?: '.*')?$/, '') : err.message).trimEnd()
}
