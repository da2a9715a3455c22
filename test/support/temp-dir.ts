import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** The part of a tap test (or the root tap object) the support helpers need. */
export interface Teardown { teardown: (fn: () => unknown) => void }

/** A fresh directory under the OS temp dir, removed when `t` ends. */
export function tempDir (t: Teardown, prefix = 'rstmdb-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
