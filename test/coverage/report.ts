import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { Report } from 'c8'
import { LINES_FLOOR, PRODUCT_FOLDERS } from './folders.js'

/**
 * Runs after the whole suite (`npm test`'s posttest): reads the coverage tap recorded in
 * .tap/coverage, counts product files no test loaded as uncovered (tap alone would leave them
 * out), prints lines covered per folder and fails when a folder is under the floor. tap itself
 * does not enforce a floor, so running one test file never fails for coverage.
 */

interface Lines { total: number, covered: number }

const root = process.cwd()
const reportsDirectory = path.join(root, '.tap/report')

/**
 * Modules that declare only types compile to an empty `export {};`: no code of theirs ever runs,
 * so counting their lines as uncovered would only measure how many interfaces the folder has.
 */
async function typeOnlyModules (): Promise<string[]> {
  const found: string[] = []
  for (const folder of PRODUCT_FOLDERS) {
    for (const file of await readdir(path.join(root, 'dist', folder), { recursive: true })) {
      if (!file.endsWith('.js')) continue
      const relative = path.join('dist', folder, file)
      const code = (await readFile(path.join(root, relative), 'utf8')).replace(/^\/\/# sourceMappingURL=.*$/m, '')
      if (code.replace(/\s/g, '') === 'export{};') found.push(relative)
    }
  }
  return found
}

await new Report({
  all: true,
  src: [root],
  include: PRODUCT_FOLDERS.map((folder) => `dist/${folder}/**/*.js`),
  exclude: await typeOnlyModules(),
  reporter: ['json-summary'],
  reportsDirectory,
  tempDirectory: path.join(root, '.tap/coverage'),
  excludeNodeModules: true,
}).run()

const summary = JSON.parse(await readFile(path.join(reportsDirectory, 'coverage-summary.json'), 'utf8')) as Record<string, { lines: Lines }>
const folders = new Map<string, Lines>(PRODUCT_FOLDERS.map((folder) => [folder, { total: 0, covered: 0 }]))
for (const [file, { lines }] of Object.entries(summary)) {
  if (file === 'total') continue
  const folder = folders.get(path.relative(root, file).split(path.sep)[0])
  if (folder === undefined) continue
  folder.total += lines.total
  folder.covered += lines.covered
}

const percent = ({ total, covered }: Lines): number => total === 0 ? 100 : 100 * covered / total
let below = 0
console.log(`# coverage (lines, floor ${LINES_FLOOR}%; per file: ${path.relative(root, reportsDirectory)}/coverage-summary.json)`)
for (const [folder, lines] of folders) {
  const pct = percent(lines)
  if (pct < LINES_FLOOR) below++
  console.log(`#   ${folder.padEnd(9)} ${pct.toFixed(2).padStart(6)}%  ${lines.covered}/${lines.total}${pct < LINES_FLOOR ? '  BELOW THE FLOOR' : ''}`)
}
if (below > 0) process.exitCode = 1
