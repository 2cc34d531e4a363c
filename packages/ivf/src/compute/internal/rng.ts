/** Seeded PRNG (mulberry32 core; Box-Muller normals). Deterministic across platforms. */

/** Deterministic pseudo-random source. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  nextInt(n: number): number;
  /** Standard normal sample. */
  nextGaussian(): number;
}

/** mulberry32: uniform floats in [0, 1) from a 32-bit seed; the one generator core of the package. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Creates a seeded PRNG; equal seeds give equal sequences. */
export function createRng(seed: number): Rng {
  let spare: number | undefined;
  const next = mulberry32(Math.trunc(seed) ^ 0x9e3779b9);
  return {
    next,
    nextInt(n: number): number {
      return Math.floor(next() * n);
    },
    nextGaussian(): number {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}
