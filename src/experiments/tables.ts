/**
 * Tables are views of the result rows. Aggregation is two-level, as in the papers: per seed, the
 * mean over test subjects and phases; then mean +- sd (and a 95% CI) of those per-seed values
 * across seeds. Tests of one method against another live in comparisons.ts (at the unit that
 * varies independently, not over subject x seed pairs).
 */
import { summarize, type Summary } from "../metrics/stats.js";
import { assertOneScoring, type ResultRow } from "./results.js";

export interface CellSummary {
  method: string;
  budget: number;
  label: string;
  metric: ResultRow["metric"];
  summary: Summary;
}

const groupBy = <T>(xs: T[], key: (x: T) => string): Map<string, T[]> => {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
};

const finiteMean = (xs: number[]): number => {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};

/** mean +- sd across seeds of the per-seed subject means, for every method x budget x label x metric. */
export function summarizeCells(rows: ResultRow[]): CellSummary[] {
  assertOneScoring(rows, "summarizeCells");
  const out: CellSummary[] = [];
  for (const group of groupBy(rows, (r) => `${r.method}|${r.budget}|${r.label}|${r.metric}`).values()) {
    const perSeed = [...groupBy(group, (r) => String(r.seed)).values()].map((g) => finiteMean(g.map((r) => r.value)));
    const { method, budget, label, metric } = group[0];
    out.push({ method, budget, label, metric, summary: summarize(perSeed) });
  }
  return out.sort((a, b) => a.method.localeCompare(b.method) || a.budget - b.budget || a.label.localeCompare(b.label) || a.metric.localeCompare(b.metric));
}

const fmt = (s: Summary, digits: number) => (s.n === 0 ? "n/a" : `${s.mean.toFixed(digits)} ± ${Number.isFinite(s.sd) ? s.sd.toFixed(digits) : "–"}`);

/**
 * A markdown table: one row per method x budget, columns = labels (Dice) and the HD95/ASSD of
 * `distanceLabel` (default the mean over classes). `methods` fixes the row order.
 */
export function markdownTable(summaries: CellSummary[], methods: string[], labels: string[], distanceLabel = "mean"): string {
  const find = (m: string, b: number, label: string, metric: ResultRow["metric"]) => summaries.find((s) => s.method === m && s.budget === b && s.label === label && s.metric === metric);
  const budgets = [...new Set(summaries.map((s) => s.budget))].sort((a, b) => a - b);
  const header = ["labelled subjects", "method", ...labels.map((l) => `Dice ${l}`), `HD95 ${distanceLabel} (mm)`, `ASSD ${distanceLabel} (mm)`, "seeds"];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const b of budgets) {
    for (const m of methods) {
      const dice = labels.map((l) => find(m, b, l, "dice"));
      if (dice.every((d) => !d)) continue;
      const hd = find(m, b, distanceLabel, "hd95");
      const as = find(m, b, distanceLabel, "assd");
      const cells = [String(b), m, ...dice.map((d) => (d ? fmt(d.summary, 3) : "")), hd ? fmt(hd.summary, 1) : "", as ? fmt(as.summary, 2) : "", String(dice[0]?.summary.n ?? "")];
      lines.push(`| ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

/** Flat CSV of the summaries. */
export function summariesCsv(summaries: CellSummary[]): string {
  const lines = ["method,budget,label,metric,n_seeds,mean,sd,ci95_low,ci95_high,excluded"];
  for (const s of summaries) {
    const x = s.summary;
    lines.push([s.method, s.budget, s.label, s.metric, x.n, x.mean, x.sd, x.ciLow, x.ciHigh, x.excluded].join(","));
  }
  return lines.join("\n") + "\n";
}

/**
 * The per-seed table: for every method x budget x seed, the mean Dice per label over test
 * subjects and phases (the values the across-seed summaries are made of).
 */
export function perSeedCsv(rows: ResultRow[], labels: string[]): string {
  assertOneScoring(rows, "perSeedCsv");
  const dice = rows.filter((r) => r.metric === "dice");
  const lines = [["method", "budget", "seed", ...labels.map((l) => `dice_${l}`)].join(",")];
  const cells = groupBy(dice, (r) => `${r.method}|${r.budget}|${r.seed}`);
  const keys = [...cells.keys()].sort((a, b) => {
    const [ma, ba, sa] = a.split("|");
    const [mb, bb, sb] = b.split("|");
    return Number(ba) - Number(bb) || ma.localeCompare(mb) || Number(sa) - Number(sb);
  });
  for (const k of keys) {
    const g = cells.get(k)!;
    lines.push([...k.split("|"), ...labels.map((l) => finiteMean(g.filter((r) => r.label === l).map((r) => r.value)).toFixed(4))].join(","));
  }
  return lines.join("\n") + "\n";
}
