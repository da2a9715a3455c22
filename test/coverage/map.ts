import { PRODUCT_FOLDERS } from './folders.js'

/**
 * tap's coverage map (.taprc `coverage-map`): whichever test file runs, and in the server
 * processes it starts, coverage is recorded for the compiled product files only. Their source
 * maps make the report name the .ts sources.
 */
export default function coverageMap (): string[] {
  return PRODUCT_FOLDERS.map((folder) => `dist/${folder}/**/*.js`)
}
