import { prng } from '../../test/support/prng.js'

/** The team's seeded PRNG, so a soak's choices can be replayed with --seed. */
export type Rng = () => number

export const createRng: (seed: number) => Rng = prng

export function pick<T> (rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]
}
