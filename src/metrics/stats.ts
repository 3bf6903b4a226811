/**
 * Statistics for reporting metrics over seeds and subjects: mean, sample SD, Student-t 95%
 * confidence interval of the mean, and the paired Wilcoxon signed-rank test (fine-tuned vs
 * from-scratch on the same subjects).
 *
 * Undefined values: the metrics return NaN where a value is undefined (e.g. HD95 when a structure
 * is missing from one of the masks). `summarize` leaves out every non-finite value and reports
 * how many it left out in `excluded`; tables should print that count next to the mean, because
 * dropping failures makes the mean look better than the method is. `wilcoxonSignedRank` likewise
 * drops pairs with a non-finite member and reports `dropped`.
 *
 * Special functions are computed from their series and continued fractions to near double
 * precision (about 1e-14 relative), enough to match tables and SciPy.
 */

/** Arithmetic mean; NaN for an empty list. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (denominator n - 1); NaN for fewer than 2 values. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m); // two passes: no cancellation for large means
  return Math.sqrt(ss / (xs.length - 1));
}

export interface Summary {
  /** Number of finite values used. */
  n: number;
  /** Number of values left out because they were NaN or infinite (undefined metrics). */
  excluded: number;
  mean: number;
  /** Sample SD (n - 1); NaN when n < 2. */
  sd: number;
  /** Confidence interval of the mean: mean -/+ t(1 - (1 - level)/2, n - 1) * sd / sqrt(n). NaN when n < 2. */
  ciLow: number;
  ciHigh: number;
  /** The "+/-" half width of that interval. */
  halfWidth: number;
  level: number;
}

/**
 * Mean, SD and Student-t confidence interval (default 95%) of the finite values, over seeds or
 * subjects. Non-finite values are excluded and counted in `excluded`.
 */
export function summarize(values: readonly number[], level = 0.95): Summary {
  if (!(level > 0 && level < 1)) throw new Error(`confidence level must be in (0, 1), got ${level}`);
  const xs = values.filter((x) => Number.isFinite(x));
  const n = xs.length;
  const m = mean(xs);
  const sd = sampleSd(xs);
  const halfWidth = n < 2 ? NaN : tQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, excluded: values.length - n, mean: m, sd, ciLow: m - halfWidth, ciHigh: m + halfWidth, halfWidth, level };
}

// ---------------------------------------------------------------------------------------------
// Special functions

/**
 * ln Gamma(x) for x > 0: shift x up to >= 15 with Gamma(x) = Gamma(x + 1) / x, then Stirling's
 * series, whose truncation error there is below 1e-19.
 */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  let shift = 0;
  let prod = 1;
  while (x < 15) {
    prod *= x;
    x += 1;
    shift += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  // Stirling: B_{2k} / (2k (2k - 1) x^(2k - 1)) for k = 1..7.
  const series = inv * (1 / 12 + inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 * (1 / 156)))))));
  const lg = (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series;
  return shift === 0 ? lg : lg - Math.log(prod);
}

const TINY = 1e-300;
const EPS = 1e-16;

/**
 * Continued fraction of the incomplete beta function (modified Lentz evaluation); converges
 * quickly for x < (a + 1) / (a + b + 2).
 */
function betaContinuedFraction(x: number, a: number, b: number): number {
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    // Even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m))
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    // Odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}

/**
 * Regularized incomplete beta I_x(a, b), given x and y = 1 - x separately so callers that know
 * 1 - x precisely (the t distribution near t = 0) do not lose it to rounding.
 */
function incompleteBeta(x: number, y: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const lnFront = a * Math.log(x) + b * Math.log(y) - (logGamma(a) + logGamma(b) - logGamma(a + b));
  // Use the fraction where it converges fast; otherwise the symmetry I_x(a, b) = 1 - I_y(b, a).
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(y, b, a)) / b;
}

/** Regularized incomplete beta function I_x(a, b), 0 <= x <= 1, a, b > 0. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  return incompleteBeta(x, 1 - x, a, b);
}

/** P(T > t) for t >= 0, Student t with df degrees of freedom: 0.5 I_{df/(df+t^2)}(df/2, 1/2). */
function tUpperTail(t: number, df: number): number {
  const t2 = t * t;
  return 0.5 * incompleteBeta(df / (df + t2), t2 / (df + t2), df / 2, 0.5);
}

/** Cumulative distribution function of Student's t with `df` (> 0, need not be an integer). */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  const tail = tUpperTail(Math.abs(t), df);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * Quantile of Student's t: the t with P(T <= t) = p. Found by bisection on the upper tail
 * (monotone, so it cannot fail to converge), to about 1e-15 relative.
 */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return NaN;
  if (p === 0.5) return 0;
  const q = p > 0.5 ? 1 - p : p; // target upper-tail probability of |t|
  let lo = 0;
  let hi = 1;
  while (tUpperTail(hi, df) > q) {
    lo = hi;
    hi *= 2;
    if (!Number.isFinite(hi)) return p > 0.5 ? Infinity : -Infinity;
  }
  for (let it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
    const mid = 0.5 * (lo + hi);
    if (tUpperTail(mid, df) > q) lo = mid;
    else hi = mid;
  }
  const t = 0.5 * (lo + hi);
  return p > 0.5 ? t : -t;
}

/** Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a), a > 0, x >= 0. */
function upperGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnFront = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // Series for the lower function P, converging fast for x < a + 1.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * EPS) break;
    }
    return 1 - sum * Math.exp(lnFront);
  }
  // Continued fraction for Q (Lentz), converging fast for x >= a + 1.
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(lnFront) * h;
}

/** Standard normal survival function P(Z > z), accurate in the far tail (erfc(x) = Q(1/2, x^2)). */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const tail = 0.5 * upperGamma(0.5, (z * z) / 2);
  return z >= 0 ? tail : 1 - tail;
}

// ---------------------------------------------------------------------------------------------
// Wilcoxon signed-rank test

export interface WilcoxonOptions {
  /**
   * "auto" (default): exact null distribution when n <= 25 non-zero differences and there are no
   * ties and no zero differences, else the normal approximation. "exact": exact distribution of
   * the non-zero differences (zeros dropped); throws if their absolute values tie, since average
   * ranks break the integer rank sums it enumerates. "approx": always the normal approximation.
   */
  method?: "auto" | "exact" | "approx";
  /** Continuity correction in the normal approximation (default true; SciPy's default is false). */
  correction?: boolean;
}

export interface WilcoxonResult {
  /** min(R+, R-): SciPy's two-sided statistic. */
  statistic: number;
  /** Sum of the ranks of |d| over positive and over negative differences d = x - y. */
  rPlus: number;
  rMinus: number;
  /** Number of non-zero differences that were ranked. */
  n: number;
  /** Number of zero differences, dropped before ranking. */
  zeros: number;
  /** Number of pairs dropped because x or y was NaN or infinite. */
  dropped: number;
  /** Two-sided p-value. NaN when no non-zero difference remains. */
  pValue: number;
  method: "exact" | "approx";
  /** Normal deviate of the approximation (NaN for the exact method). */
  z: number;
}

/** Number of subsets of {1..n} with each sum s = 0..n(n+1)/2: the null distribution of R+ times 2^n. */
function signedRankCounts(n: number): Float64Array {
  const max = (n * (n + 1)) / 2;
  const counts = new Float64Array(max + 1);
  counts[0] = 1;
  // Add rank k to the subsets built from ranks 1..k-1; descending s so each rank is used once.
  for (let k = 1; k <= n; k++) {
    for (let s = (k * (k + 1)) / 2; s >= k; s--) counts[s] += counts[s - k];
  }
  return counts; // integers below 2^53 for n <= 50, so exact
}

/**
 * Paired two-sided Wilcoxon signed-rank test of x against y (d = x - y), as
 * scipy.stats.wilcoxon(x, y, zero_method="wilcox", correction=True, method=...).
 * - Zero differences are dropped before ranking (Wilcoxon's original method, SciPy's default
 *   zero_method "wilcox"); n counts the rest.
 * - Ties in |d| get average ranks.
 * - Exact p (method "auto", n <= 25, no ties, no zeros): 2 * min(P(R+ <= r), P(R+ >= r)) under
 *   the null, capped at 1, and 1 when r is the centre of the distribution (as SciPy).
 * - Otherwise normal approximation: z = (T - n(n+1)/4 - c) / sigma with T = min(R+, R-),
 *   sigma^2 = (n(n+1)(2n+1) - sum over tie groups of t(t^2-1)/2) / 24, continuity correction
 *   c = 0.5 sign(T - mean) (0 if disabled), p = 2 P(Z > |z|), capped at 1.
 * Note SciPy 1.10's own "auto" uses the exact method up to n = 50 and, with ties, silently
 * truncates the half-integer rank sum; we switch to the approximation instead.
 */
export function wilcoxonSignedRank(x: readonly number[], y: readonly number[], options: WilcoxonOptions = {}): WilcoxonResult {
  if (x.length !== y.length) throw new Error(`paired samples differ in length: ${x.length} vs ${y.length}`);
  const method = options.method ?? "auto";
  const correction = options.correction ?? true;
  let dropped = 0;
  let zeros = 0;
  const d: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) {
      dropped++;
      continue;
    }
    const di = x[i] - y[i];
    if (di === 0) zeros++;
    else d.push(di);
  }
  const n = d.length;

  // Average ranks of |d|; remember tie group sizes for the variance correction.
  const order = d.map((_, i) => i).sort((i, j) => Math.abs(d[i]) - Math.abs(d[j]));
  const rank = new Float64Array(n);
  const tieSizes: number[] = [];
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && Math.abs(d[order[end]]) === Math.abs(d[order[start]])) end++;
    const avg = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let r = start; r < end; r++) rank[order[r]] = avg;
    if (end - start > 1) tieSizes.push(end - start);
    start = end;
  }
  let rPlus = 0;
  let rMinus = 0;
  for (let i = 0; i < n; i++) {
    if (d[i] > 0) rPlus += rank[i];
    else rMinus += rank[i];
  }
  const statistic = Math.min(rPlus, rMinus);
  const base = { statistic, rPlus, rMinus, n, zeros, dropped };
  if (n === 0) return { ...base, pValue: NaN, method: method === "exact" ? "exact" : "approx", z: NaN };

  const useExact = method === "exact" || (method === "auto" && n <= 25 && tieSizes.length === 0 && zeros === 0);
  if (useExact) {
    if (tieSizes.length > 0) throw new Error("exact Wilcoxon p-value needs distinct |differences|; use the normal approximation with ties");
    if (n > 50) throw new Error(`exact Wilcoxon p-value is limited to n <= 50 non-zero differences, got ${n}`);
    const counts = signedRankCounts(n);
    const max = counts.length - 1;
    let pValue: number;
    if (rPlus === Math.floor(max / 2)) {
      pValue = 1;
    } else {
      let below = 0;
      let above = 0;
      for (let s = 0; s <= rPlus; s++) below += counts[s];
      for (let s = rPlus; s <= max; s++) above += counts[s];
      pValue = Math.min(1, (2 * Math.min(below, above)) / 2 ** n);
    }
    return { ...base, pValue, method: "exact", z: NaN };
  }

  const mu = (n * (n + 1)) / 4;
  let variance = n * (n + 1) * (2 * n + 1);
  for (const t of tieSizes) variance -= 0.5 * t * (t * t - 1);
  const sigma = Math.sqrt(variance / 24);
  const c = correction ? 0.5 * Math.sign(statistic - mu) : 0;
  const z = (statistic - mu - c) / sigma;
  return { ...base, pValue: Math.min(1, 2 * normalSf(Math.abs(z))), method: "approx", z };
}
