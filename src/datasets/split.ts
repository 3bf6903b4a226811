/**
 * Seeded train/val/test splits of subject ids.
 *
 * Deterministic in (set of ids, spec, seed): ids are sorted first, so the order a folder listing
 * returns them in does not matter; then shuffled with the seeded Random. The three parts are
 * disjoint. Each part keeps the shuffled order, so taking the first n training subjects gives
 * nested random subsets for label budgets (the 5-subject set is inside the 10-subject set).
 */
import { Random } from "../random";

export interface SplitSizes {
  train: number;
  val: number;
  test: number;
}

/**
 * `fractions`: shares of the subjects (each >= 0, sum <= 1; with sum 1 every subject is used,
 * rounded by largest remainder). `counts`: numbers of subjects (integers, sum <= the number of
 * subjects). Subjects left over go to `unused`.
 */
export type SplitSpec = { fractions: SplitSizes } | { counts: SplitSizes };

export interface SubjectSplit {
  seed: number;
  train: string[];
  val: string[];
  test: string[];
  unused: string[];
}

const PARTS = ["train", "val", "test"] as const;

export function splitSubjects(ids: readonly string[], spec: SplitSpec, seed: number): SubjectSplit {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new Error(`splitSubjects: subject id '${id}' is listed twice`);
    seen.add(id);
  }
  const n = ids.length;
  const sizes = "counts" in spec ? checkCounts(spec.counts, n) : countsFromFractions(spec.fractions, n);
  // Sort by code units (not locale) so every machine gets the same order.
  const shuffled = new Random(seed).shuffle([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  const out: SubjectSplit = { seed, train: [], val: [], test: [], unused: [] };
  let at = 0;
  for (const part of PARTS) {
    out[part] = shuffled.slice(at, at + sizes[part]);
    at += sizes[part];
  }
  out.unused = shuffled.slice(at);
  return out;
}

function checkCounts(c: SplitSizes, n: number): SplitSizes {
  for (const part of PARTS)
    if (!Number.isInteger(c[part]) || c[part] < 0) throw new Error(`splitSubjects: ${part} count ${c[part]} must be a whole number >= 0`);
  const total = c.train + c.val + c.test;
  if (total > n) throw new Error(`splitSubjects: counts ask for ${total} subjects (train ${c.train}, val ${c.val}, test ${c.test}) but there are only ${n}`);
  return c;
}

/** Largest-remainder rounding of n * fraction, totalling round(n * sum). */
function countsFromFractions(f: SplitSizes, n: number): SplitSizes {
  for (const part of PARTS)
    if (!Number.isFinite(f[part]) || f[part] < 0 || f[part] > 1) throw new Error(`splitSubjects: ${part} fraction ${f[part]} must be in [0, 1]`);
  const sum = f.train + f.val + f.test;
  if (sum > 1 + 1e-9) throw new Error(`splitSubjects: fractions sum to ${sum}, more than 1`);
  const total = Math.abs(sum - 1) <= 1e-9 ? n : Math.round(n * sum);
  const exact = PARTS.map((p) => n * f[p]);
  const counts = exact.map(Math.floor);
  // Hand out the remaining subjects to the largest remainders (ties: train, then val, then test).
  const order = [0, 1, 2].sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (let r = 0, left = total - counts.reduce((a, b) => a + b, 0); left > 0; r = (r + 1) % 3, left--) counts[order[r]]++;
  return { train: counts[0], val: counts[1], test: counts[2] };
}
