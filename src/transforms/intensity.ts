/**
 * Intensity normalisation. MR intensities have no absolute scale, so every image is clipped to
 * its own percentiles and scaled: the same code then works for phantoms and for any scanner.
 */

/** Percentiles (0..100) of `data` by sorting a copy; exact, fine for slices and stacks. */
export function percentiles(data: ArrayLike<number>, ps: number[]): number[] {
  const sorted = Float64Array.from(data).sort();
  return ps.map((p) => {
    const pos = (p / 100) * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  });
}

/** Clip to the [lo, hi] percentiles and scale to [0, 1]. */
export function normalizePercentile(data: ArrayLike<number>, lo = 1, hi = 99): Float32Array {
  const [a, b] = percentiles(data, [lo, hi]);
  const range = b - a || 1;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.min(1, Math.max(0, (data[i] - a) / range));
  return out;
}
