/**
 * "Faster convergence", measured on the validation curves every cell stores: for each (budget,
 * seed), the threshold is a fixed fraction of the baseline's best validation score in that same
 * cell pair; each method's steps to reach it are the first validated step at or above it. A
 * method that never reaches it counts its last step (censored: a lower bound, said in the table).
 * Seeds are the independent unit: the difference baseline - method is averaged over seeds with a
 * t-interval (n = seeds).
 */
import { summarize, type Summary } from "../metrics/stats.js";
import type { CellRecord } from "./results.js";

/** First validated step whose score reaches `threshold`; censored at the last step if none. */
export function stepsToReach(cell: CellRecord, threshold: number): { steps: number; reached: boolean } {
  const v = cell.curve?.validation ?? [];
  const hit = v.find((p) => p.score >= threshold);
  return hit ? { steps: hit.step, reached: true } : { steps: cell.steps, reached: false };
}

export interface ConvergenceRow {
  method: string;
  budget: number;
  fraction: number;
  /** Per seed: baseline's and method's steps, and whether each reached the threshold. */
  perSeed: { seed: number; threshold: number; baseline: number; method: number; baselineReached: boolean; methodReached: boolean }[];
  /** baseline steps - method steps (positive: the method is faster). */
  saved: Summary;
}

export function convergenceComparison(cells: CellRecord[], baseline: string, fraction: number): ConvergenceRow[] {
  const byKey = new Map(cells.map((c) => [`${c.method}|${c.budget}|${c.seed}`, c]));
  const out: ConvergenceRow[] = [];
  const budgets = [...new Set(cells.map((c) => c.budget))].sort((a, b) => a - b);
  const methods = [...new Set(cells.map((c) => c.method))].filter((m) => m !== baseline);
  for (const budget of budgets)
    for (const method of methods) {
      const perSeed: ConvergenceRow["perSeed"] = [];
      for (const c of cells.filter((x) => x.method === method && x.budget === budget).sort((a, b) => a.seed - b.seed)) {
        const base = byKey.get(`${baseline}|${budget}|${c.seed}`);
        if (!base?.curve || base.curve.validation.length === 0) continue;
        const threshold = fraction * Math.max(...base.curve.validation.map((p) => p.score));
        const b = stepsToReach(base, threshold);
        const m = stepsToReach(c, threshold);
        perSeed.push({ seed: c.seed, threshold, baseline: b.steps, method: m.steps, baselineReached: b.reached, methodReached: m.reached });
      }
      if (perSeed.length > 0) out.push({ method, budget, fraction, perSeed, saved: summarize(perSeed.map((p) => p.baseline - p.method)) });
    }
  return out;
}
