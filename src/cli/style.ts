/** ANSI colours, only on a TTY and never with NO_COLOR (cli.md §3). */

export interface Style {
  red: (s: string) => string
  green: (s: string) => string
  yellow: (s: string) => string
  cyan: (s: string) => string
  bold: (s: string) => string
  dim: (s: string) => string
}

const wrap = (open: number, close: number) => (s: string): string => `\u001b[${open}m${s}\u001b[${close}m`

const COLOURED: Style = {
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
  bold: wrap(1, 22),
  dim: wrap(2, 22),
}

const same = (s: string): string => s
export const PLAIN: Style = { red: same, green: same, yellow: same, cyan: same, bold: same, dim: same }

export function styleFor (stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): Style {
  return stream.isTTY === true && env.NO_COLOR === undefined ? COLOURED : PLAIN
}
