/**
 * Holm's step-down correction (Holm 1979) for a family of tests. A leaderboard asks dozens of
 * "does A beat B" questions at once; at 95% each, a few would come out "significant" by chance
 * alone if no pretext differed from any other. Holm controls the chance of any false claim in
 * the family at alpha and is never less powerful than Bonferroni.
 */

/**
 * Holm-adjusted p-values, in the input's order: sort ascending, multiply the i-th smallest
 * (0-based) by (m - i), carry the running maximum so the order is kept, cap at 1. A test is
 * rejected at family-wise level alpha when its adjusted p is <= alpha. NaN p-values (a test that
 * could not be computed) stay NaN and do not count in m.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const order = pValues.map((p, i) => ({ p, i })).filter((x) => !Number.isNaN(x.p));
  order.sort((a, b) => a.p - b.p);
  const m = order.length;
  const out = pValues.map(() => NaN);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}
