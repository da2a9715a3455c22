import fs from 'node:fs'
import path from 'node:path'
import type { WalEntry } from '../../protocol/entries.js'
import { openStorage } from '../../storage/index.js'
import type { Logger, Storage, StorageOptions, SnapshotLine } from '../../storage/index.js'

/** A recovery target that records what it is given. */
export function recorder (): { restored: SnapshotLine[], applied: Array<{ seq: number, entry: WalEntry }>, restore: (l: SnapshotLine) => void, apply: (e: WalEntry, s: number) => void } {
  const restored: SnapshotLine[] = []
  const applied: Array<{ seq: number, entry: WalEntry }> = []
  return {
    restored,
    applied,
    restore: (line) => { restored.push(line) },
    apply: (entry, seq) => { applied.push({ seq, entry }) },
  }
}

export interface CapturedLog extends Logger {
  lines: Array<{ level: string, obj: Record<string, unknown>, msg?: string }>
}

export function captureLog (): CapturedLog {
  const lines: CapturedLog['lines'] = []
  return {
    lines,
    info: (obj, msg) => { lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }) },
    warn: (obj, msg) => { lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }) },
    error: (obj, msg) => { lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }) },
  }
}

export function entry (i: number, pad = 0): WalEntry {
  return { type: 'create_instance', instance_id: `i-${i}`, machine: 'm', version: 1, initial_state: 'a', initial_ctx: pad > 0 ? { pad: 'x'.repeat(pad) } : {}, ts: 1 }
}

export async function open (dataDir: string, extra: Partial<StorageOptions> = {}): Promise<{ storage: Storage, target: ReturnType<typeof recorder> }> {
  const target = recorder()
  const storage = await openStorage({
    dataDir,
    segmentSizeBytes: 1024 * 1024,
    fsyncPolicy: { kind: 'every_write' },
    skipCorruptRecords: false,
    target,
    ...extra,
  })
  return { storage, target }
}

export function segmentFiles (dataDir: string): string[] {
  return fs.readdirSync(path.join(dataDir, 'wal')).filter((n) => n.endsWith('.wal')).sort().map((n) => path.join(dataDir, 'wal', n))
}
