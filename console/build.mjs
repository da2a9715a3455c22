// Bundles the console (console/src) into dist/console: `node console/build.mjs`, or `--watch` while developing.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const here = path.dirname(fileURLToPath(import.meta.url))
const out = path.resolve(here, '../dist/console')
const watch = process.argv.includes('--watch')

/** index.html names the hashed bundle and stylesheet of this build. */
const pagePlugin = {
  name: 'page',
  setup (build) {
    build.onEnd((result) => {
      if (result.errors.length > 0) return
      const outputs = Object.keys(result.metafile.outputs).map((file) => `/console/assets/${path.basename(file)}`)
      const script = outputs.find((f) => f.endsWith('.js'))
      const style = outputs.find((f) => f.endsWith('.css'))
      const html = readFileSync(path.join(here, 'index.html'), 'utf8')
        .replace('%STYLE%', style)
        .replace('%SCRIPT%', script)
      writeFileSync(path.join(out, 'index.html'), html)
      console.log(`console: built ${outputs.filter((f) => !f.endsWith('.map')).join(', ')}`)
    })
  },
}

rmSync(out, { recursive: true, force: true })
mkdirSync(path.join(out, 'assets'), { recursive: true })

const options = {
  entryPoints: [path.join(here, 'src/main.tsx')],
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: !watch,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
  plugins: [pagePlugin],
}

if (watch) {
  const context = await esbuild.context(options)
  await context.watch()
  console.log('console: watching console/src (Ctrl+C to stop)')
} else {
  await esbuild.build(options)
}
