/**
 * The spot check (`anatomy-ssl spot-check`, the README's first command): a few cells of a
 * paper's full grid, retrained on this machine from nothing (its own pretraining, its own data
 * cache is allowed since generation is deterministic), then compared cell by cell with the
 * committed run in results/<paper>/.
 *
 * Each paper declares its key cells (`Paper.spotCheck`): the baseline and the headline pretext
 * at one budget, on the first seed of the full configuration. Everything else is the full
 * configuration, so with the same code, backend and seed the cells should equal the committed
 * ones; a difference is judged against the committed cell's 95% CI over its test subjects (the
 * spread the committed number itself carries), and the gain against the committed run's gain CI.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { hierarchicalBootstrap } from "../metrics/bootstrap.js";
import { compareWithBaseline } from "./comparisons.js";
import type { Paper, ProtocolConfig } from "./protocol.js";
import { ResultsStore, scoredAs, type ResultRow } from "./results.js";
import { differingLeaves } from "./settings-diff.js";

/** The cells a paper's spot check trains and what they are compared with. */
export interface SpotCheck {
  /** The baseline first, then the pretext(s) whose claim is checked. */
  methods: string[];
  budget: number;
  /** The Dice the paper's claim is about: "mean" over classes, or one class ("kidney"). */
  label: string;
  /** The scoring the paper's report uses (Zhang 2024: largest connected component). */
  postprocess?: ResultRow["postprocess"];
  /** What the paper itself reports for these cells, in words (its data is not ours). */
  paperSays: string;
  /** Confirmed numbers the paper reported for these methods at this budget, if any. */
  paperValues?: Record<string, number>;
}

/** The paper's spot check, or an error saying it has none. */
export function spotCheckOf(paper: Paper): SpotCheck {
  if (!paper.spotCheck) throw new Error(`${paper.name} has no spot check (only the papers do: bai2019, zhang2024, kidney, pgl)`);
  return paper.spotCheck;
}

/** The full configuration narrowed to the spot check's cells: first seed, one budget, its methods. */
export function spotCheckConfig(paper: Paper): ProtocolConfig {
  const s = spotCheckOf(paper);
  return { ...paper.full, seeds: [paper.full.seeds[0]], budgets: [s.budget], methods: [...s.methods], pretrainOnly: [] };
}

export interface CellCheck {
  method: string;
  /** Mean Dice over the test subjects (phases averaged per subject). */
  yours: number;
  committed?: { mean: number; low: number; high: number };
  /** yours lies in the committed cell's CI. */
  within?: boolean;
}

export interface GainCheck {
  method: string;
  yours: number;
  /** The same seed's gain in the committed run, with its CI over test subjects. */
  committedSeed?: { mean: number; low: number; high: number };
  within?: boolean;
  /** The committed run's gain over all its seeds (the claim's CI). */
  committedAll?: { mean: number; low: number; high: number; seeds: number };
}

export interface SpotCheckResult {
  paper: string;
  budget: number;
  seed: number;
  label: string;
  /** Baseline first. */
  methods: string[];
  cells: CellCheck[];
  gains: GainCheck[];
  /** Settings where the committed run's configuration differs from today's full configuration. */
  configDiffers: string[];
  committedDir: string;
  /** Why there is nothing to compare with, if so. */
  noCommitted?: string;
}

const BOOT = { draws: 10000, level: 0.95, seed: 0 };

/** Per-subject values (phases averaged) of one method's cell. */
function perSubject(rows: ResultRow[], method: string): Map<string, number> {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const r of rows) {
    if (r.method !== method) continue;
    const s = sums.get(r.subject) ?? { sum: 0, n: 0 };
    s.sum += r.value;
    s.n++;
    sums.set(r.subject, s);
  }
  return new Map([...sums].map(([k, s]) => [k, s.sum / s.n]));
}

/** Mean and 95% bootstrap CI over test subjects (one seed). */
function subjectCi(values: number[]): { mean: number; low: number; high: number } {
  const b = hierarchicalBootstrap([values], BOOT);
  return { mean: b.mean, low: b.low, high: b.high };
}

/** The rows of one (budget, seed) in the spot check's scoring. */
function pick(rows: ResultRow[], s: SpotCheck, budget: number, seed?: number): ResultRow[] {
  return scoredAs(rows, s.postprocess).filter((r) => r.metric === "dice" && r.label === s.label && r.budget === budget && (seed === undefined || r.seed === seed));
}

/**
 * Compare the spot check's rows with a committed run of the same paper. `config` is the spot
 * check's (its first seed, first budget and methods, baseline first, are the cells compared).
 */
export function compareSpotCheck(paper: Paper, config: ProtocolConfig, checkRows: ResultRow[], committedDir: string): SpotCheckResult {
  const s = spotCheckOf(paper);
  const seed = config.seeds[0];
  const budget = config.budgets[0];
  const methods = config.methods;
  const ours = pick(checkRows, s, budget, seed);
  const result: SpotCheckResult = { paper: paper.name, budget, seed, label: s.label, methods: [...methods], cells: [], gains: [], configDiffers: [], committedDir };
  const configFile = path.join(committedDir, "config.json");
  const storeFile = path.join(committedDir, "rows.jsonl");
  let committed: ResultRow[] = [];
  if (!fs.existsSync(storeFile) || !fs.existsSync(configFile)) {
    result.noCommitted = `no committed results in ${committedDir}`;
  } else {
    const saved = JSON.parse(fs.readFileSync(configFile, "utf8")) as { quick?: boolean; config: ProtocolConfig };
    const strip = (c: ProtocolConfig) => ({ ...c, seeds: undefined, budgets: undefined, methods: undefined, pretrainOnly: undefined });
    result.configDiffers = differingLeaves(strip(saved.config), strip(config)).map((d) => d.key || "(whole configuration)");
    committed = pick(new ResultsStore(storeFile).load().rows, s, budget);
  }
  const committedSeed = committed.filter((r) => r.seed === seed);
  const mine = new Map(methods.map((m) => [m, perSubject(ours, m)]));
  const theirs = new Map(methods.map((m) => [m, perSubject(committedSeed, m)]));
  for (const method of methods) {
    const y = mine.get(method)!;
    if (y.size === 0) throw new Error(`spot check ${paper.name}: no ${s.label} Dice rows for ${method} at budget ${budget} seed ${seed}`);
    const cell: CellCheck = { method, yours: [...y.values()].reduce((a, b) => a + b, 0) / y.size };
    const t = theirs.get(method)!;
    if (t.size > 0) {
      cell.committed = subjectCi([...t.values()]);
      cell.within = cell.yours >= cell.committed.low && cell.yours <= cell.committed.high;
    }
    result.cells.push(cell);
  }
  const baseline = methods[0];
  const all = committed.length > 0 ? compareWithBaseline(committed, baseline, { label: s.label }) : [];
  for (const method of methods.slice(1)) {
    const gainOf = (m: Map<string, Map<string, number>>) => {
      const b = m.get(baseline)!;
      const x = m.get(method)!;
      return [...x.keys()].filter((k) => b.has(k)).map((k) => x.get(k)! - b.get(k)!);
    };
    const g = gainOf(mine);
    const gain: GainCheck = { method, yours: g.reduce((a, b) => a + b, 0) / g.length };
    const tg = gainOf(theirs);
    if (tg.length > 0) {
      gain.committedSeed = subjectCi(tg);
      gain.within = gain.yours >= gain.committedSeed.low && gain.yours <= gain.committedSeed.high;
    }
    const c = all.find((x) => x.method === method && x.budget === budget);
    if (c) gain.committedAll = { mean: c.meanGain, low: c.ciLow, high: c.ciHigh, seeds: c.seeds };
    result.gains.push(gain);
  }
  return result;
}

const f4 = (x: number) => x.toFixed(4);
// A difference that rounds to zero prints as 0.0000, not -0.0000.
const sg = (x: number) => (Math.abs(x) < 5e-5 ? "0.0000" : `${x > 0 ? "+" : ""}${x.toFixed(4)}`);
const ci = (c: { low: number; high: number }, signed = false) => `[${(signed ? sg : f4)(c.low)}, ${(signed ? sg : f4)(c.high)}]`;

/** One line: does this machine reproduce the committed cells? */
export function spotCheckVerdict(r: SpotCheckResult): string {
  if (r.noCommitted) return `${r.paper}: nothing to compare with (${r.noCommitted})`;
  const compared = r.cells.filter((c) => c.committed);
  const maxDiff = Math.max(...compared.map((c) => Math.abs(c.yours - c.committed!.mean)));
  const outside = compared.filter((c) => !c.within).map((c) => c.method);
  const like = r.configDiffers.length ? ` (NOT like for like: the committed run differs in ${r.configDiffers.join(", ")})` : "";
  if (compared.length < r.cells.length) return `${r.paper}: the committed run has no cell for ${r.cells.filter((c) => !c.committed).map((c) => c.method).join(", ")}${like}`;
  if (maxDiff < 5e-5) return `${r.paper}: REPRODUCED — every key cell equals the committed one (largest difference ${maxDiff.toExponential(1)})${like}`;
  if (outside.length === 0) return `${r.paper}: REPRODUCED within CI — every key cell lies in the committed cell's 95% CI (largest difference ${maxDiff.toFixed(4)})${like}`;
  return `${r.paper}: DIFFERS — ${outside.join(", ")} outside the committed cell's 95% CI (largest difference ${maxDiff.toFixed(4)})${like}`;
}

/** Markdown: the key cells side by side with the committed run and the paper. */
export function spotCheckMarkdown(paper: Paper, r: SpotCheckResult): string[] {
  const s = spotCheckOf(paper);
  const label = r.label === "mean" ? "mean Dice over classes" : `${r.label} Dice`;
  const lines = [
    `## ${paper.title}: spot check against ${path.relative(process.cwd(), r.committedDir) || r.committedDir}`,
    "",
    `Budget ${r.budget} labelled, seed ${r.seed}; ${label}${s.postprocess ? ` after ${s.postprocess}` : ""}, mean over the test subjects. The committed cell's CI is a 95% bootstrap over its test subjects.`,
    "",
    "| method | yours | committed (same cell) | committed 95% CI | difference | within CI | paper |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const c of r.cells) {
    const paperValue = s.paperValues?.[c.method];
    lines.push(
      `| ${c.method} | ${f4(c.yours)} | ${c.committed ? f4(c.committed.mean) : "n/a"} | ${c.committed ? ci(c.committed) : "n/a"} | ${c.committed ? sg(c.yours - c.committed.mean) : "n/a"} | ${c.within === undefined ? "n/a" : c.within ? "yes" : "NO"} | ${paperValue !== undefined ? paperValue.toFixed(3) : "-"} |`,
    );
  }
  for (const g of r.gains) {
    const pb = s.paperValues?.[r.methods[0]];
    const pm = s.paperValues?.[g.method];
    lines.push(
      `| gain ${g.method} − ${r.methods[0]} | ${sg(g.yours)} | ${g.committedSeed ? sg(g.committedSeed.mean) : "n/a"} | ${g.committedSeed ? ci(g.committedSeed, true) : "n/a"} | ${g.committedSeed ? sg(g.yours - g.committedSeed.mean) : "n/a"} | ${g.within === undefined ? "n/a" : g.within ? "yes" : "NO"} | ${pb !== undefined && pm !== undefined ? sg(pm - pb) : "-"} |`,
    );
  }
  lines.push("");
  for (const g of r.gains) {
    if (g.committedAll) lines.push(`Committed run, all ${g.committedAll.seeds} seeds: gain of ${g.method} ${sg(g.committedAll.mean)}, 95% CI ${ci(g.committedAll, true)}.`);
  }
  lines.push(`Paper: ${s.paperSays}`, "", `**${spotCheckVerdict(r)}**`, "");
  return lines;
}
