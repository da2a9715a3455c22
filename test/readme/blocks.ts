/**
 * The README's runnable examples: fenced blocks whose info string is `<lang> runnable`
 * (GitHub still highlights them as <lang>), split into the commands a reader pastes, each
 * with what its trailing comment says it answers.
 */

export interface Block {
  lang: string
  code: string
  /** 1-based line of the opening fence */
  line: number
}

/** What a command must do: its exit code, and the HTTP status of every curl it runs (any 2xx when null). */
export interface Expectation {
  exit: number
  status: number | null
}

export interface Command {
  text: string
  /** 1-based README line it starts on */
  line: number
  expect: Expectation
}

const FENCE = /^```(\S*)(.*)$/

export function runnableBlocks (markdown: string): Block[] {
  const lines = markdown.split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i])
    if (open === null) continue
    const start = i
    let end = i + 1
    while (end < lines.length && lines[end] !== '```') end++
    if (open[2].trim() === 'runnable') blocks.push({ lang: open[1], code: lines.slice(start + 1, end).join('\n'), line: start + 1 })
    i = end
  }
  return blocks
}

/** Where the trailing `# comment` starts (a `#` after blank space, outside quotes), or -1. */
export function commentStart (text: string): number {
  let quote: string | null = null
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote !== null) {
      if (c === quote) quote = null
      else if (c === '\\' && quote === '"') i++
    } else if (c === '\'' || c === '"') {
      quote = c
    } else if (c === '\\') {
      i++
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      return i
    }
  }
  return -1
}

/** `# 422 …` expects that status from every curl of the command; `# exit 28 …` that exit code. */
export function expectation (comment: string): Expectation {
  const status = /^#\s*(\d{3})\b/.exec(comment)
  if (status !== null) return { exit: 0, status: Number(status[1]) }
  const exit = /^#\s*exit (\d+)\b/.exec(comment)
  return { exit: exit === null ? 0 : Number(exit[1]), status: null }
}

/**
 * A shell block's commands: lines joined where they end in a backslash; blank lines and lines
 * that are only a comment (sample output) are left out.
 */
export function shellCommands (block: Block): Command[] {
  const lines = block.code.split('\n')
  const commands: Command[] = []
  for (let i = 0; i < lines.length; i++) {
    const first = i
    let text = lines[i]
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text}\n${lines[++i]}`
    if (text.trim() === '' || text.trimStart().startsWith('#')) continue
    const hash = commentStart(text)
    commands.push({ text, line: block.line + 1 + first, expect: hash < 0 ? { exit: 0, status: null } : expectation(text.slice(hash)) })
  }
  return commands
}
