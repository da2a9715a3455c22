import fs from 'node:fs'

/**
 * The file operations the WAL writer uses. Tests replace members to inject
 * write and fsync faults; everything else reads files with node:fs directly.
 */
export interface FileLayer {
  /** opens a segment for appending (created if missing) */
  openAppend: (path: string) => Promise<number>
  /**
   * Appends the buffers with one write and returns the bytes written. Node's layer
   * writes synchronously (the WAL writer commits without a thread-pool round trip);
   * an injected layer may return a promise instead.
   */
  writev: (fd: number, buffers: Buffer[]) => number | Promise<number>
  fdatasync: (fd: number) => Promise<void>
  fsync: (fd: number) => Promise<void>
  close: (fd: number) => Promise<void>
  /** fsyncs a directory so a created, renamed or deleted entry in it is durable */
  syncDir: (path: string) => Promise<void>
}

const done = (resolve: () => void, reject: (err: Error) => void) => (err: Error | null) => err ? reject(err) : resolve()

export const nodeFileLayer: FileLayer = {
  openAppend: (path) => new Promise((resolve, reject) => {
    fs.open(path, 'a', 0o644, (err, fd) => err ? reject(err) : resolve(fd))
  }),
  writev: (fd, buffers) => fs.writevSync(fd, buffers),
  fdatasync: (fd) => new Promise((resolve, reject) => { fs.fdatasync(fd, done(resolve, reject)) }),
  fsync: (fd) => new Promise((resolve, reject) => { fs.fsync(fd, done(resolve, reject)) }),
  close: (fd) => new Promise((resolve, reject) => { fs.close(fd, done(resolve, reject)) }),
  syncDir: (path) => syncDir(path),
}

export async function syncDir (path: string): Promise<void> {
  const handle = await fs.promises.open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Creates a file's content durably: tmp, fsync, rename, fsync of the directory. */
export async function writeFileDurably (dir: string, name: string, data: string | Buffer): Promise<void> {
  const tmp = `${dir}/${name}.tmp`
  const handle = await fs.promises.open(tmp, 'w', 0o644)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.promises.rename(tmp, `${dir}/${name}`)
  await syncDir(dir)
}
