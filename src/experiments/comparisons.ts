/**
 * Is a method better than the baseline at a label budget? Tested at the units that vary
 * independently, never over subject x seed pairs as if they were independent:
 *
 * - the gain's 95% CI is a two-level bootstrap of the mean per-subject gain: each draw resamples
 *   the seeds and the test subjects. Every seed is scored on the same test subjects (seeds and
 *   subjects are crossed), so one subject resample is shared by all drawn seeds; resampling
 *   subjects independently within each seed would count a hard subject as S independent ones
 *   and give too narrow an interval (metrics/bootstrap.ts has the numbers). Seed spread (with
 *   per-seed pretraining, pretraining variance too) and subject spread both enter;
 * - the p value is a Wilcoxon signed-rank test over test subjects on seed-averaged Dice
 *   (n = test subjects).
 *
 * A subject's value is its mean over phases (ED and ES of one subject are not independent).
 */
import { bootstrapPValue, hierarchicalBootstrap } from "../metrics/bootstrap.js";
import { wilcoxonSignedRank } from "../metrics/stats.js";
import { assertOneScoring, type ResultRow } from "./results.js";

export interface Comparison {
  method: string;
  baseline: string;
  budget: number;
  /** Mean over seeds and test subjects of (method - baseline). */
  meanGain: number;
  ciLow: number;
  ciHigh: number;
  /** Seeds with both methods, test subjects scored by both. */
  seeds: number;
  subjects: number;
  /** Wilcoxon signed-rank, two-sided, on seed-averaged per-subject values. */
  pValue: number;
  /** Two-sided p of the same bootstrap as the CI (bootstrapPValue): what a multiplicity correction of the CIs uses. */
  bootstrapP: number;
  statistic: number;
}

const BOOTSTRAP = { draws: 10000, level: 0.95, seed: 0 };

/** value[seed][subject] of one method at one budget: mean over phases. */
function bySeedAndSubject(rows: ResultRow[]): Map<number, Map<string, number>> {
  const sums = new Map<number, Map<string, { sum: number; n: number }>>();
  for (const r of rows) {
    const perSeed = sums.get(r.seed) ?? new Map<string, { sum: number; n: number }>();
    sums.set(r.seed, perSeed);
    const s = perSeed.get(r.subject) ?? { sum: 0, n: 0 };
    s.sum += r.value;
    s.n++;
    perSeed.set(r.subject, s);
  }
  return new Map([...sums].map(([seed, m]) => [seed, new Map([...m].map(([subject, s]) => [subject, s.sum / s.n]))]));
}

/**
 * Every method against `baseline` at every budget, on `metric` of `label` (default: Dice averaged
 * over the classes). Seeds and subjects are paired: only those present for both methods count.
 */
export function compareWithBaseline(rows: ResultRow[], baseline: string, options: { metric?: ResultRow["metric"]; label?: string } = {}): Comparison[] {
  assertOneScoring(rows, "compareWithBaseline");
  const metric = options.metric ?? "dice";
  const label = options.label ?? "mean";
  const picked = rows.filter((r) => r.metric === metric && r.label === label);
  const budgets = [...new Set(picked.map((r) => r.budget))].sort((a, b) => a - b);
  const methods = [...new Set(picked.map((r) => r.method))].filter((m) => m !== baseline).sort();
  const out: Comparison[] = [];
  for (const budget of budgets) {
    const base = bySeedAndSubject(picked.filter((r) => r.method === baseline && r.budget === budget));
    for (const method of methods) {
      const other = bySeedAndSubject(picked.filter((r) => r.method === method && r.budget === budget));
      const seeds = [...other.keys()].filter((s) => base.has(s)).sort((a, b) => a - b);
      if (seeds.length === 0) continue;
      const subjects = [...other.get(seeds[0])!.keys()].filter((j) => seeds.every((s) => base.get(s)!.has(j) && other.get(s)!.has(j))).sort();
      if (subjects.length === 0) continue;
      const gains = seeds.map((s) => subjects.map((j) => other.get(s)!.get(j)! - base.get(s)!.get(j)!));
      const boot = hierarchicalBootstrap(gains, { ...BOOTSTRAP, returnDraws: true });
      const avg = (m: Map<number, Map<string, number>>, j: string) => seeds.reduce((t, s) => t + m.get(s)!.get(j)!, 0) / seeds.length;
      const w = wilcoxonSignedRank(subjects.map((j) => avg(other, j)), subjects.map((j) => avg(base, j)));
      out.push({ method, baseline, budget, meanGain: boot.mean, ciLow: boot.low, ciHigh: boot.high, seeds: seeds.length, subjects: subjects.length, pValue: w.pValue, statistic: w.statistic, bootstrapP: bootstrapPValue(boot.drawMeans!) });
    }
  }
  return out;
}

export function comparisonsCsv(cs: Comparison[]): string {
  const lines = ["method,baseline,budget,mean_gain,ci95_low,ci95_high,seeds,test_subjects,wilcoxon_p,wilcoxon_statistic"];
  for (const c of cs) lines.push([c.method, c.baseline, c.budget, c.meanGain, c.ciLow, c.ciHigh, c.seeds, c.subjects, c.pValue, c.statistic].join(","));
  return lines.join("\n") + "\n";
}
