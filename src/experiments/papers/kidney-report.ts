/**
 * results/kidney/: every file is written here from the results store, never by hand.
 *   rows.jsonl                 the store (per test case: kidney and tumour Dice/HD95/ASSD; cells; pretraining runs)
 *   table.md / summary.csv / per-seed.csv / comparisons.csv     Dice, and each SSL method vs scratch
 *   convergence.csv            steps to reach a fraction of scratch's best validation Dice, per seed
 *   pretexts.csv               each pretext variant's same-side accuracy on held-out cases, per seed
 *   realism.md                 the phantom beside the real samples (when ../shared/data is present)
 *   dice-vs-budget.html (+ .png), curves-budget-N.html (+ .png)
 *   README.md                  the paper's two claims and whether each reproduces here
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { summarize } from "../../metrics/stats.js";
import { formatRealismTable, type AbdomenCtOptions } from "../../phantoms/abdomen/index.js";
import { projectRoot } from "../../provenance.js";
import { compareAbdomenWithRealSamples } from "../abdomen-realism.js";
import { compareWithBaseline, comparisonsCsv, type Comparison } from "../comparisons.js";
import { convergenceComparison, type ConvergenceRow } from "../convergence.js";
import { claimSummary, comparisonTable, f3, missedClasses, provenanceLines, signed, writeCurveFigures, writeDiceVsBudget, type ReportInput, reportWriter, trainingSection, verdictOf, notebookLines } from "../report.js";
import type { PretrainRecord, ResultRow } from "../results.js";
import { markdownTable, perSeedCsv, summariesCsv, summarizeCells, type CellSummary } from "../tables.js";
import type { KidneyData } from "./kidney.js";
import { KIDNEY_METHODS, KIDNEY_PRETEXTS, type KidneyConfig } from "./kidney-config.js";

const labelOf = (m: string) => KIDNEY_METHODS.find((x) => x.name === m)?.label ?? m;
const diceOf = (s: CellSummary[], method: string, budget: number) => s.find((x) => x.method === method && x.budget === budget && x.label === "kidney" && x.metric === "dice")?.summary;

/** The shared real samples: ANATOMY_SSL_SHARED_DATA, else ../shared/data beside the project. */
function sharedDataDir(): string {
  return process.env.ANATOMY_SSL_SHARED_DATA ?? path.resolve(projectRoot(), "..", "shared", "data");
}

/** The realism table for the README, or why there is none. */
export async function kidneyRealism(seeds: number[], ct: AbdomenCtOptions): Promise<{ table: string; note: string }> {
  const dir = sharedDataDir();
  if (!fs.existsSync(dir)) return { table: "", note: `No realism table: the real samples (${dir}) are not on this machine.` };
  const r = await compareAbdomenWithRealSamples(dir, seeds, ct);
  return { table: formatRealismTable(r.rows), note: `Phantom: mean ± sd over seeds ${seeds[0]}-${seeds[seeds.length - 1]}; real: ${r.sources.join(", ")} (in ${dir}).` };
}

export function writeKidneyReport(input: ReportInput<KidneyConfig, KidneyData>): string[] {
  const { outDir, config, rows } = input;
  const { write, written } = reportWriter(outDir);
  const summaries = summarizeCells(rows);
  const comparisons = compareWithBaseline(rows, "scratch", { label: "kidney" });
  const convergence = convergenceComparison(input.cells, "scratch", config.convergenceFraction);
  write("table.md", markdownTable(summaries, config.methods, ["kidney", "tumor"], "kidney") + "\n");
  write("summary.csv", summariesCsv(summaries));
  write("per-seed.csv", perSeedCsv(rows, ["kidney", "tumor"]));
  write("comparisons.csv", comparisonsCsv(comparisons));
  write("convergence.csv", convergenceCsv(convergence));
  write("pretexts.csv", pretextsCsv(input.pretrains));
  write("realism.md", `${input.data.realism.table}\n\n${input.data.realism.note}\n`);

  const figure = writeDiceVsBudget(outDir, summaries, config.methods, labelOf, "kidney", { title: "Kidney asymmetry reproduction: kidney Dice vs labelled cases", x: "labelled training cases", y: "kidney Dice (mean over seeds, 95% t-CI)" });
  written.push(...figure.files);
  const pngProblem = figure.pngProblem;
  const curves = writeCurveFigures(outDir, input.cells, KIDNEY_METHODS.filter((m) => config.methods.includes(m.name)), "Kidney fine-tuning");
  written.push(...curves.files);
  write("README.md", readme(input, summaries, comparisons, convergence, pngProblem ?? curves.pngProblem));
  return written;
}

/**
 * The sanity check (scratch should rise with the budget), the runs that never found the kidney,
 * and, post hoc, each gain without the seeds where scratch or the method had such a run: a verdict
 * either way that rests on one failed run says more about that run than about the pretext.
 */
function failedRunLines(rows: ResultRow[], summaries: CellSummary[], budgets: number[], ssl: string[]): string[] {
  const lines: string[] = [];
  const scratch = budgets.map((b) => ({ b, s: diceOf(summaries, "scratch", b) })).filter((x) => x.s);
  const falls = scratch.slice(1).map((x, i) => ({ x, prev: scratch[i] })).filter(({ x, prev }) => x.s!.mean < prev.s!.mean).map(({ x, prev }) => `${prev.b} to ${x.b} (${f3(prev.s!.mean)} → ${f3(x.s!.mean)})`);
  lines.push(`Sanity check: scratch kidney Dice by budget ${scratch.map((x) => `${x.b}: ${f3(x.s!.mean)}`).join(", ")} — ${falls.length === 0 ? "it rises with the label budget" : `its mean FALLS from ${falls.join(", ")}`}.`, "");
  const missed = missedClasses(rows.filter((r) => r.label === "kidney"));
  if (missed.length === 0) return lines;
  lines.push(`**Runs that never found the kidney** (Dice < 0.1 on most test cases): ${missed.map((m) => `${labelOf(m.method)} at ${m.budget}, seed ${m.seed} (${m.images}/${m.of} cases)`).join("; ")}. They stay in the statistics above.`, "");
  const gains: string[] = [];
  for (const m of ssl) {
    const drop = new Set(missed.filter((x) => x.method === m || x.method === "scratch").map((x) => `${x.budget}|${x.seed}`));
    const affected = budgets.filter((b) => [...drop].some((k) => Number(k.split("|")[0]) === b));
    if (affected.length === 0) continue;
    const kept = rows.filter((r) => (r.method === m || r.method === "scratch") && !drop.has(`${r.budget}|${r.seed}`));
    const cs = compareWithBaseline(kept, "scratch", { label: "kidney" });
    for (const b of affected) {
      const c = cs.find((x) => x.method === m && x.budget === b);
      if (c) gains.push(`${labelOf(m)} at ${b}: ${signed(c.meanGain)} [${signed(c.ciLow)}, ${signed(c.ciHigh)}] (${c.seeds} seeds)`);
    }
  }
  if (gains.length > 0) lines.push(`**Sensitivity (post hoc): without the seeds in which scratch or the method never found the kidney**, the gains over scratch are ${gains.join("; ")}.`, "");
  return lines;
}

function convergenceCsv(rows: ConvergenceRow[]): string {
  const lines = ["method,budget,seed,fraction,threshold,scratch_steps,scratch_reached,method_steps,method_reached"];
  for (const r of rows) for (const p of r.perSeed) lines.push([r.method, r.budget, p.seed, r.fraction, p.threshold.toFixed(4), p.baseline, p.baselineReached, p.method, p.methodReached].join(","));
  return lines.join("\n") + "\n";
}

function pretextsCsv(records: PretrainRecord[]): string {
  const lines = ["pretext,mode,mirrored,seed,steps,seconds,final_loss,held_out_accuracy,train_accuracy,from_cache"];
  for (const r of [...records].sort((a, b) => a.pretext.localeCompare(b.pretext) || a.seed - b.seed)) {
    const v = KIDNEY_PRETEXTS[r.pretext as keyof typeof KIDNEY_PRETEXTS];
    lines.push([r.pretext, v?.mode ?? "", v?.mirror ?? "", r.seed, r.steps, r.seconds, r.finalLoss ?? "", r.metrics?.heldOutAccuracy ?? "", r.metrics?.trainAccuracy ?? "", r.fromCache].join(","));
  }
  return lines.join("\n") + "\n";
}

function readme(input: ReportInput<KidneyConfig, KidneyData>, summaries: CellSummary[], comparisons: Comparison[], convergence: ConvergenceRow[], pngProblem?: string): string {
  const { config } = input;
  const budgets = [...new Set(summaries.map((s) => s.budget))].sort((a, b) => a - b);
  const ssl = config.methods.filter((m) => m !== "scratch");
  const lines: string[] = [];
  lines.push(`# Kidney asymmetry (arXiv 2101.05456) — same-side siamese pretext: reproduction${input.titleNote ?? ""}`, "");
  lines.push(...notebookLines(input), "");
  lines.push(`Written by \`${input.command}\`; do not edit by hand.`, "");
  lines.push("## The claims and what we found", "");
  lines.push("The paper (abstract, confirmed; no number is confirmed, so none is quoted): a siamese network pretrained to tell whether two kidney sections come from the same side of the body, used as the encoder of a segmentation network, gives better Dice and faster convergence than the same network from scratch, with no extra data, annotations or augmentation. Its public code crops the sections with the ground-truth kidney mask, so that version uses annotations: we run it as an upper bound beside a label-free version.", "");
  lines.push(`How we test it: kidney Dice (kidney + tumour against background, as KiTS19 scores "kidney") per test case; each method's gain over scratch is the mean over seeds and test cases of the per-case difference, with a 95% CI from a two-level bootstrap over the ${config.seeds.length} seeds (each with its own pretraining) and the ${config.testSubjects} test cases. A claim holds at a budget when the CI lies above 0.`, "");
  for (const m of ssl) {
    const vs = budgets.map((b) => verdictOf(comparisons.find((c) => c.method === m && c.budget === b)));
    lines.push(`**Claim 1 — better Dice, ${labelOf(m)}:** ${budgets.map((b, i) => `${b} labelled: ${vs[i].text}`).join("; ")}. Verdict: ${claimSummary(vs.map((v) => v.holds), budgets)}.`, "");
  }
  lines.push(...failedRunLines(input.rows, summaries, budgets, ssl));
  lines.push(`**Claim 2 — faster convergence.** For each budget and seed, the threshold is ${config.convergenceFraction} × scratch's best validation Dice in that run; steps to reach it are the first validation (every ${config.finetune.validateEvery} steps) at or above it. Steps saved = scratch's steps − the method's, mean over seeds with a 95% t-CI (n = seeds); it holds when the CI lies above 0. A run that never reaches the threshold counts its last step (marked *).`, "");
  lines.push("| labelled | method | scratch steps (per seed) | method steps (per seed) | steps saved, mean [95% CI] | holds |", "|---|---|---|---|---|---|");
  for (const r of convergence) {
    const fmt = (steps: number, reached: boolean) => `${steps}${reached ? "" : "*"}`;
    const s = r.saved;
    const ci = Number.isFinite(s.halfWidth) ? `${s.mean.toFixed(0)} [${s.ciLow.toFixed(0)}, ${s.ciHigh.toFixed(0)}]` : `${s.mean.toFixed(0)}`;
    lines.push(`| ${r.budget} | ${labelOf(r.method)} | ${r.perSeed.map((p) => fmt(p.baseline, p.baselineReached)).join(", ")} | ${r.perSeed.map((p) => fmt(p.method, p.methodReached)).join(", ")} | ${ci} | ${s.ciLow > 0 ? "yes" : "no"} |`);
  }
  lines.push("");
  for (const m of ssl) {
    const holds = budgets.map((b) => (convergence.find((r) => r.method === m && r.budget === b)?.saved.ciLow ?? -1) > 0);
    lines.push(`Claim 2, ${labelOf(m)}: ${claimSummary(holds, budgets)}.`, "");
  }
  lines.push("## The pretext: can the network tell the sides apart?", "");
  lines.push(`Same-side accuracy of each pretext variant on pairs drawn from the ${config.testSubjects} held-out (test) cases, never seen in pretraining (${config.heldOutPairs} pairs, rule: same side when the embedding distance < ${config.threshold}; chance 0.5), mean ± sd over seeds; "train" is the same on pretraining cases. Unmirrored, a left and a right section show the spine at opposite edges, which gives the side away; mirrored, only anatomical asymmetry (liver against spleen and stomach, kidney height and shape) can.`, "");
  lines.push("| pretext | sections | left side mirrored | held-out accuracy | train accuracy | seeds | pretraining (s, mean) |", "|---|---|---|---|---|---|---|");
  const byPretext = new Map<string, PretrainRecord[]>();
  for (const r of input.pretrains) byPretext.set(r.pretext, [...(byPretext.get(r.pretext) ?? []), r]);
  for (const [name, v] of Object.entries(KIDNEY_PRETEXTS)) {
    const rs = byPretext.get(name) ?? [];
    if (rs.length === 0) continue;
    const acc = summarize(rs.map((r) => r.metrics?.heldOutAccuracy ?? NaN));
    const tr = summarize(rs.map((r) => r.metrics?.trainAccuracy ?? NaN));
    const secs = summarize(rs.map((r) => r.seconds));
    const pm = (s: typeof acc) => `${f3(s.mean)} ± ${Number.isFinite(s.sd) ? f3(s.sd) : "–"}`;
    lines.push(`| ${name} | ${v.mode === "label-free" ? "label-free box" : "kidney-mask crop (uses labels)"} | ${v.mirror ? "yes" : "no"} | ${pm(acc)} | ${pm(tr)} | ${rs.length} | ${secs.mean.toFixed(0)} |`);
  }
  lines.push("");
  lines.push("## Every method against scratch (kidney Dice)", "");
  lines.push(...comparisonTable(comparisons, labelOf), "");
  lines.push("## Table (per seed: mean over test cases; then mean ± sd over seeds)", "");
  lines.push(fs.readFileSync(path.join(input.outDir, "table.md"), "utf8"));
  lines.push("Tumour Dice is over the test cases that have a tumour; a tumour predicted in a case without one is not scored. Per seed: per-seed.csv.", "");
  const tumourBest = Math.max(...summaries.filter((x) => x.label === "tumor" && x.metric === "dice").map((x) => x.summary.mean));
  if (tumourBest < 0.1) lines.push(`No method learned the tumour class (best mean tumour Dice ${f3(tumourBest)}): with at most ${Math.max(...budgets)} labelled cases, about half with a tumour, at ${config.grid.pixel} mm pixels, small tumours are a few pixels wide. The claims are therefore tested on kidney Dice only.`, "");
  lines.push(...trainingSection(input.cells, config, KIDNEY_METHODS, "kidney Dice"));
  lines.push(pngProblem ? `Curves: curves-budget-N.html (no PNG: ${pngProblem}).` : budgets.map((b) => `![training curves, ${b} labelled](curves-budget-${b}.png)`).join("\n"), "");
  lines.push("## The data: phantom against real CT", "");
  if (fs.existsSync(path.join(input.outDir, "realism.md"))) lines.push(fs.readFileSync(path.join(input.outDir, "realism.md"), "utf8"));
  lines.push("## What was run", "");
  lines.push(`- Data: ${input.runInfo.data}; labelled pool ${config.labelledPool}, validation ${config.validationSubjects}, fixed test set ${config.testSubjects} cases, the rest unlabelled; split seed ${config.splitSeed}.`);
  lines.push(`- Segmentation: axial slices of a ${config.grid.size}×${config.grid.size} region of ${config.grid.pixel} mm pixels (${(config.grid.size * config.grid.pixel).toFixed(0)} mm) centred ${config.grid.anteriorMm} mm in front of the spine, slices every ${config.grid.sliceMm} mm; HU windowed to [-79, 304] and z-scored per volume; classes background, kidney, tumour; 2D U-Net ${config.unet.depth} levels, ${config.unet.baseFilters} base filters; cross-entropy + soft Dice; no augmentation.`);
  lines.push(`- Pretext: sections of ${config.sections.cropPx}×${config.sections.cropPx} pixels (${config.sections.boxMm} mm box, label-free: ${config.sections.lateralMm} mm lateral and ${config.sections.anteriorMm} mm anterior of the spine's centre), ${config.sections.perSide} per side and case; pairs from every non-test case (two halves of one case may pair); the U-Net's encoder + global average pooling + a ${config.embedding}-wide embedding; contrastive loss with margin ${config.margin}; ${config.pretrain.steps} steps of ${config.pairs} pairs, Adam ${config.pretrain.learningRate}; one run per pretext and seed. Transfer: the encoder only (one branch).`);
  lines.push(`- Budgets ${config.budgets.join(", ")} × seeds ${config.seeds.join(", ")}; stopping rule above.`);
  lines.push(...provenanceLines(input.runInfo));
  lines.push("");
  return lines.join("\n");
}
