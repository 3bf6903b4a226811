/**
 * The parts of a results README every paper shares: how the run was made (and, separately, when
 * a report was only regenerated from stored cells), the stopping rule, per-cell training curves,
 * and the baseline comparisons at the right statistical unit.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Comparison } from "./comparisons.js";
import { ensurePlotlyAsset, htmlToPng, lineChartHtml, plotlyPageHtml } from "./figures.js";
import type { Method, ProtocolConfig } from "./protocol.js";
import type { CellRecord, PretrainRecord, ResultRow } from "./results.js";
import type { CellSummary } from "./tables.js";

/** One invocation of `reproduce` that computed cells. */
export interface Invocation {
  started: string;
  finished: string;
  wallSeconds: number;
  gitCommit: string;
  machine: string;
  backend: string;
  cellsRun: number;
  cellsSkipped: number;
  pretrainRuns: number;
  pretrainCached: number;
  pretrainSeconds: number;
  /** Set while the invocation runs; left set when it was killed: `finished` is then its last stored cell. */
  interrupted?: boolean;
}

/** A results folder's run.json (older ones lack later fields), or undefined where there is none. */
export function readRunInfo(file: string): Partial<RunInfo> | undefined {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Partial<RunInfo>) : undefined;
}

/** An invocation that computed nothing and only rewrote the report. */
export interface Regeneration {
  at: string;
  gitCommit: string;
  machine: string;
  backend: string;
}

/** One `anatomy-ssl merge`: the stores it read (relative to the paper's folder) and where it ran. */
export interface Merge {
  at: string;
  gitCommit: string;
  machine: string;
  stores: string[];
}

/** run.json: how the results were made. */
export interface RunInfo {
  paper: string;
  quick: boolean;
  overrides: string[];
  data: string;
  /** Sum over the invocations that computed cells. */
  wallSeconds: number;
  invocations: Invocation[];
  regenerated: Regeneration[];
  /** Each `anatomy-ssl merge` that combined shard stores into this folder (merge.ts). */
  merges?: Merge[];
  packages: Record<string, string>;
  config: unknown;
  cellSeconds: { method: string; budget: number; seed: number; seconds: number; steps: number; bestStep?: number; finishedAt?: string }[];
}

export interface ReportInput<C = ProtocolConfig, D = unknown> {
  outDir: string;
  command: string;
  config: C;
  data: D;
  rows: ResultRow[];
  cells: CellRecord[];
  /** The pretraining runs the cells started from (and evaluated-only pretexts), from the store. */
  pretrains: PretrainRecord[];
  runInfo: RunInfo;
  quick: boolean;
  /** Appended to the README's title: what kind of run this is when it is not the full one. */
  titleNote?: string;
  /** The paper's notebook stem (Paper.notebook). */
  notebook: string;
}

/** Links to the paper's notebook, live and rendered (paths from results/<paper>/). */
export function notebookLines(input: { notebook: string }): string[] {
  const nb = input.notebook;
  return [`Notebook: [notebooks/${nb}.ipynb](../../notebooks/${nb}.ipynb) (open it live with \`npm run lab\`); rendered with every output: [results/notebooks/${nb}.html](../notebooks/${nb}.html).`];
}

export interface Verdict {
  holds: boolean;
  text: string;
}

/** "Reproduces" only when the 95% CI of the gain lies above 0. */
export function verdictOf(c: Comparison | undefined): Verdict {
  if (!c) return { holds: false, text: "not run" };
  const ci = `${signed(c.meanGain)} [${signed(c.ciLow)}, ${signed(c.ciHigh)}]`;
  if (c.ciLow > 0) return { holds: true, text: `yes, ${ci}` };
  if (c.ciHigh < 0) return { holds: false, text: `NO, worse: ${ci}` };
  return { holds: false, text: `no (CI includes 0): ${ci}` };
}

/**
 * Cells that never found a class: its Dice is below 0.1 on most test images. With few labels a
 * run can settle where one structure is never predicted (e.g. the LV blood pool left as
 * background); such runs stay in the statistics, but the README names them.
 */
export function missedClasses(rows: ResultRow[]): { method: string; budget: number; seed: number; label: string; images: number; of: number }[] {
  const byCell = new Map<string, number[]>();
  for (const r of rows) {
    if (r.metric !== "dice" || r.label === "mean") continue;
    const k = `${r.method}|${r.budget}|${r.seed}|${r.label}`;
    (byCell.get(k) ?? byCell.set(k, []).get(k)!).push(r.value);
  }
  const out: ReturnType<typeof missedClasses> = [];
  for (const [k, dice] of byCell) {
    const missed = dice.filter((d) => d < 0.1).length;
    if (missed > dice.length / 2) {
      const [method, budget, seed, label] = k.split("|");
      out.push({ method, budget: Number(budget), seed: Number(seed), label, images: missed, of: dice.length });
    }
  }
  return out.sort((a, b) => a.budget - b.budget || a.method.localeCompare(b.method) || a.seed - b.seed);
}

/** A claim's verdict over budgets, from whether it holds at each. */
export function claimSummary(holds: boolean[], budgets: number[]): string {
  if (holds.every(Boolean)) return "**reproduces at every budget**";
  if (holds.some(Boolean)) return `**reproduces only at ${budgets.filter((_, i) => holds[i]).join(", ")} labelled subject(s)**`;
  return "**does NOT reproduce at any budget**";
}

/**
 * dice-vs-budget.html (+ .png when a browser renders it): each method's mean Dice for `label` by
 * label budget, with 95% t-CI bars over seeds. Returns the files written and why a PNG is missing.
 */
export function writeDiceVsBudget(outDir: string, summaries: CellSummary[], methods: string[], labelOf: (m: string) => string, label: string, text: { title: string; x: string; y: string }): { files: string[]; pngProblem?: string } {
  const budgets = [...new Set(summaries.map((s) => s.budget))].sort((a, b) => a - b);
  const at = (m: string, b: number) => summaries.find((x) => x.method === m && x.budget === b && x.label === label && x.metric === "dice")?.summary;
  const series = methods.map((m) => {
    const pts = budgets.map((b) => ({ b, s: at(m, b) })).filter((p) => p.s);
    return { name: labelOf(m), x: pts.map((p) => p.b), y: pts.map((p) => p.s!.mean), error: pts.map((p) => (Number.isFinite(p.s!.halfWidth) ? p.s!.halfWidth : 0)) };
  });
  fs.writeFileSync(path.join(outDir, "dice-vs-budget.html"), lineChartHtml(text.title, series, { x: text.x, y: text.y, logX: true }));
  const files = [ensurePlotlyAsset(outDir), "dice-vs-budget.html"];
  const pngProblem = htmlToPng(path.join(outDir, "dice-vs-budget.html"), path.join(outDir, "dice-vs-budget.png"));
  if (!pngProblem) files.push("dice-vs-budget.png");
  return { files, pngProblem };
}

/** Writes files into a report folder and lists what it wrote (writeReport returns the list). */
export function reportWriter(outDir: string): { write: (name: string, data: string | Buffer) => void; written: string[] } {
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    fs.writeFileSync(path.join(outDir, name), data);
    written.push(name);
  };
  return { write, written };
}

/** Three decimals, "n/a" when undefined; with a sign; p values. */
export const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a");
export const pFormat = (p: number) => (!Number.isFinite(p) ? "n/a" : p < 0.001 ? p.toExponential(1) : p.toFixed(3));
export const signed = (x: number) => `${x >= 0 ? "+" : ""}${f3(x)}`;

/** Where and how the cells were computed; regenerations are listed apart, never merged in. */
export function provenanceLines(run: RunInfo): string[] {
  const lines: string[] = [];
  const inv = run.invocations;
  if (inv.length === 0) lines.push("- Computed: no record of the run that computed these cells (run.json missing when the report was written).");
  else {
    const machines = [...new Set(inv.map((i) => `${i.machine}, backend ${i.backend}`))];
    const commits = [...new Set(inv.map((i) => i.gitCommit))];
    const killed = inv.filter((i) => i.interrupted).length;
    const killedNote = killed > 0 ? ` (${killed} of them interrupted; each counts to its last stored cell)` : "";
    // Shards run as separate jobs, maybe at once: their summed wall time is compute, not elapsed time.
    const over = run.merges?.length ? ` summed over ${inv.length} jobs of a sharded run (they may have run at the same time)` : ` over ${inv.length} invocations (resumed)`;
    lines.push(`- Computed: ${(run.wallSeconds / 60).toFixed(1)} min wall time${inv.length > 1 ? `${over}${killedNote}` : killedNote}, ${inv[0].started.slice(0, 16).replace("T", " ")} to ${inv[inv.length - 1].finished.slice(0, 16).replace("T", " ")} UTC, on ${machines.join("; ")}; code ${commits.join(", ")}. Each cell records where it was computed (rows.jsonl, \`computedOn\`); details in run.json.`);
  }
  // Cells that no recorded invocation computed (a run killed before invocations were recorded
  // cell by cell): their own times are known, the run's wall time is not.
  const unrecorded = run.cellSeconds.length - inv.reduce((n, i) => n + i.cellsRun, 0);
  if (unrecorded > 0) {
    const covered = (at: string | undefined) => at !== undefined && inv.some((i) => i.started <= at && at <= i.finished);
    const orphans = run.cellSeconds.filter((c) => c.finishedAt !== undefined && !covered(c.finishedAt));
    const known = orphans.length === unrecorded ? `; their fine-tuning and scoring took ${(orphans.reduce((t, c) => t + c.seconds, 0) / 60).toFixed(1)} min (cell times; pretraining not included), not counted above` : "";
    lines.push(`- ${unrecorded} of ${run.cellSeconds.length} cells were computed by invocations that left no record in run.json (killed before the run was recorded cell by cell)${known}.`);
  }
  for (const m of run.merges ?? []) lines.push(`- Merged by \`anatomy-ssl merge\` on ${m.at.slice(0, 16).replace("T", " ")} UTC with code ${m.gitCommit}, on ${m.machine}, from ${m.stores.join(", ")}.`);
  for (const r of run.regenerated) lines.push(`- Report regenerated from the stored cells (nothing recomputed) on ${r.at.slice(0, 16).replace("T", " ")} UTC with code ${r.gitCommit}, on ${r.machine}.`);
  return lines;
}

/** The README's training section: its heading, the stopping rule, how each method trained, the cap. */
export function trainingSection(cells: CellRecord[], c: ProtocolConfig, methods: readonly Method[], score = "mean Dice"): string[] {
  const used = methods.filter((m) => c.methods.includes(m.name));
  return ["## Training: the stopping rule and the curves", "", stoppingRuleText(c, score), "", ...trainingTable(cells, used), "", capNote(cells, c), ""];
}

/** The stopping rule in words, from the settings. */
export function stoppingRuleText(c: ProtocolConfig, score = "mean Dice"): string {
  const f = c.finetune;
  return `Fine-tuning (every method alike) runs Adam ${f.learningRate} for at most ${f.maxSteps} steps, scores ${score} on ${c.validationSubjects} labelled validation subjects (fixed, disjoint from the labelled pool and the test set) every ${f.validateEvery} steps, stops when ${f.patience} validations in a row (${f.patience * f.validateEvery} steps) bring no gain of more than ${f.minDelta} over the last improvement${f.minSteps ? ` (validations up to step ${f.minSteps} do not count)` : ""}, and keeps the weights of the best validation score. The test set is used only once, after training.`;
}

/** A markdown table of the comparisons with the baseline. */
export function comparisonTable(cs: Comparison[], labelOf: (m: string) => string): string[] {
  const lines = ["| labelled subjects | method | mean gain in Dice | 95% CI (bootstrap over seeds and subjects) | seeds | test subjects | Wilcoxon p (subjects) |", "|---|---|---|---|---|---|---|"];
  for (const c of cs) lines.push(`| ${c.budget} | ${labelOf(c.method)} | ${signed(c.meanGain)} | ${signed(c.ciLow)} to ${signed(c.ciHigh)} | ${c.seeds} | ${c.subjects} | ${pFormat(c.pValue)} |`);
  return lines;
}

/**
 * Cells the stopping rule did not stop: they reached maxSteps while still improving. Said in the
 * README, because a comparison of unconverged cells favours whichever method converges faster.
 */
export function capNote(cells: CellRecord[], c: ProtocolConfig): string {
  const window = c.finetune.patience * c.finetune.validateEvery;
  const capped = cells.filter((x) => !x.stoppedEarly && x.curve && x.curve.validation.length > 0);
  if (capped.length === 0) return `Every cell stopped on a validation plateau before the cap of ${c.finetune.maxSteps} steps.`;
  const gains = capped
    .map((x) => {
      const v = x.curve!.validation;
      const before = v.filter((p) => p.step <= x.steps - window).map((p) => p.score);
      return before.length ? Math.max(...v.map((p) => p.score)) - Math.max(...before) : NaN;
    })
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const median = gains.length ? gains[Math.floor(gains.length / 2)] : NaN;
  const byMethod = [...new Set(capped.map((x) => x.method))].map((m) => `${m} ${capped.filter((x) => x.method === m).length}`).join(", ");
  return `**Not all cells converged by the rule:** ${capped.length} of ${cells.length} reached the cap of ${c.finetune.maxSteps} steps while still improving (median gain in validation Dice over their last ${window} steps ${Number.isFinite(median) ? `+${median.toFixed(3)}` : "n/a"}; by method: ${byMethod}). Their test scores are those of the best validated weights at the cap; a larger finetune.maxSteps would let them finish, at a proportional cost in time.`;
}

/** How training went: steps, best step, early stops, per method and budget. */
export function trainingTable(cells: CellRecord[], methods: readonly Method[]): string[] {
  const lines = ["| labelled subjects | method | steps trained (mean, range) | best step (mean) | stopped early | best validation Dice (mean) |", "|---|---|---|---|---|---|"];
  const budgets = [...new Set(cells.map((c) => c.budget))].sort((a, b) => a - b);
  for (const b of budgets) {
    for (const m of methods) {
      const cs = cells.filter((c) => c.budget === b && c.method === m.name);
      if (cs.length === 0) continue;
      const steps = cs.map((c) => c.steps);
      const best = cs.map((c) => c.bestStep ?? c.steps);
      const bestScore = cs.map((c) => Math.max(...(c.curve?.validation.map((v) => v.score) ?? [NaN])));
      const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      lines.push(`| ${b} | ${m.label} | ${mean(steps).toFixed(0)} (${Math.min(...steps)}–${Math.max(...steps)}) | ${mean(best).toFixed(0)} | ${cs.filter((c) => c.stoppedEarly).length}/${cs.length} | ${f3(mean(bestScore))} |`);
    }
  }
  return lines;
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];

/**
 * One figure per budget: validation Dice (solid) and training loss (dotted, right axis) by step,
 * one line per (method, seed), methods coloured. Written as HTML (+ PNG when Chromium exists).
 */
export function writeCurveFigures(outDir: string, cells: CellRecord[], methods: readonly Method[], title: string): { files: string[]; pngProblem?: string } {
  const files: string[] = [];
  let pngProblem: string | undefined;
  const budgets = [...new Set(cells.map((c) => c.budget))].sort((a, b) => a - b);
  for (const b of budgets) {
    const traces: unknown[] = [];
    methods.forEach((m, i) => {
      const cs = cells.filter((c) => c.budget === b && c.method === m.name && c.curve).sort((x, y) => x.seed - y.seed);
      cs.forEach((c, k) => {
        const common = { type: "scatter", legendgroup: m.name, line: { color: PALETTE[i % PALETTE.length], width: 1.5 } };
        traces.push({ ...common, mode: "lines", name: m.label, showlegend: k === 0, x: c.curve!.validation.map((v) => v.step), y: c.curve!.validation.map((v) => v.score), hovertext: `seed ${c.seed}` });
        traces.push({ ...common, mode: "lines", name: `${m.label} loss`, showlegend: false, yaxis: "y2", line: { ...common.line, dash: "dot", width: 1 }, opacity: 0.5, x: c.curve!.loss.map((v) => v.step), y: c.curve!.loss.map((v) => v.loss), hovertext: `seed ${c.seed} loss` });
        if (c.bestStep !== undefined) {
          const best = c.curve!.validation.find((v) => v.step === c.bestStep);
          if (best) traces.push({ ...common, mode: "markers", showlegend: false, marker: { symbol: "star", size: 9, color: PALETTE[i % PALETTE.length] }, x: [best.step], y: [best.score], hovertext: `seed ${c.seed}: kept` });
        }
      });
    });
    const layout = {
      title: { text: `${title}: ${b} labelled subject${b === 1 ? "" : "s"} (one line per seed; star = weights kept)` },
      xaxis: { title: { text: "fine-tuning step" } },
      yaxis: { title: { text: "validation mean Dice (solid)" }, range: [0, 1] },
      yaxis2: { title: { text: "training loss (dotted)" }, overlaying: "y", side: "right", type: "log" },
      width: 900,
      height: 580,
      margin: { t: 70, b: 130 },
      legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top" },
    };
    const name = `curves-budget-${b}.html`;
    fs.writeFileSync(path.join(outDir, name), plotlyPageHtml(`training curves, budget ${b}`, traces, layout));
    files.push(name);
    const png = name.replace(/\.html$/, ".png");
    pngProblem ??= htmlToPng(path.join(outDir, name), path.join(outDir, png), 1000, 600);
    if (!pngProblem) files.push(png);
  }
  return { files, pngProblem };
}
