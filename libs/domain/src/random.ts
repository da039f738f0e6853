/** Randomness is injected so that pure code and its tests are repeatable. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** n random bytes. */
  bytes(n: number): Uint8Array;
}

/** A small seeded generator (mulberry32) for tests and simulations. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
}

/** The clock is injected too. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
