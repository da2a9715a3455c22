/** The seeded PRNG of the tests, shared with the benchmarks. */
export { prng } from '../../bench/prng.js'
