// ESLint flat config: neostandard (standard style for JS and TypeScript) over the whole repository.
import neostandard from 'neostandard'
import globals from 'globals'

export default [
  ...neostandard({
    ts: true,
    // dist/ holds the compiled output and the built console assets; .tap/ and coverage/ are reports
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tap/**'],
  }),
  {
    name: 'rstmdb/console-browser',
    files: ['console/src/**'],
    languageOptions: { globals: globals.browser },
  },
  {
    name: 'rstmdb/directives',
    // a disable comment that no longer silences anything is removed by --fix
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    name: 'rstmdb/fire-and-forget',
    // `void promise` marks a promise whose outcome is handled elsewhere (its own catch or an event)
    rules: { 'no-void': ['error', { allowAsStatement: true }] },
  },
]
