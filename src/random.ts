/**
 * Seeded random numbers. Everything random in the library takes a seed and uses this generator,
 * so the same seed gives the same numbers on every machine (Math.random is never used).
 */

/** mulberry32: a small, fast 32-bit generator; good enough for sampling and augmentation. */
export class Random {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
    this.state = Math.floor(seed) >>> 0;
  }

  /** The generator's whole state: save it in a checkpoint, restore with `Random.fromState`. */
  getState(): number {
    return this.state;
  }

  static fromState(state: number): Random {
    const r = new Random(0);
    r.state = state >>> 0;
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box-Muller). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A new generator whose stream is independent of this one's future draws. */
  fork(): Random {
    return new Random(Math.floor(this.next() * 4294967296));
  }

  /** Fisher-Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
