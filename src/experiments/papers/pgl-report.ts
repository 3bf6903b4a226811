/**
 * results/pgl/: every file is written here from the results store, never by hand.
 *   rows.jsonl                 the store (per test case and organ: Dice/HD95/ASSD; cells; pretraining runs)
 *   table.md / summary.csv / per-seed.csv / comparisons.csv     per-organ Dice, each method vs random init
 *   pretexts.csv               each pretext's feature matching on held-out cases, trained and at init
 *   dice-vs-budget.html (+ .png), curves-budget-N.html (+ .png)
 *   README.md                  the paper's claim (PGL > global only > random init) per organ and overall
 */
import { summarize } from "../../metrics/stats.js";
import { compareWithBaseline, comparisonsCsv, type Comparison } from "../comparisons.js";
import { claimSummary, comparisonTable, f3, missedClasses, provenanceLines, writeCurveFigures, writeDiceVsBudget, type ReportInput, reportWriter, trainingSection, verdictOf, notebookLines } from "../report.js";
import type { PretrainRecord } from "../results.js";
import { markdownTable, perSeedCsv, summariesCsv, summarizeCells, type CellSummary } from "../tables.js";
import type { PglData } from "./pgl.js";
import { PGL_METHODS, PGL_PRETEXTS, type PglConfig } from "./pgl-config.js";

const labelOf = (m: string) => PGL_METHODS.find((x) => x.name === m)?.label ?? m;

export function writePglReport(input: ReportInput<PglConfig, PglData>): string[] {
  const { outDir, config, rows } = input;
  const { write, written } = reportWriter(outDir);
  const summaries = summarizeCells(rows);
  const labels = [...config.organs, "mean"];
  // Every method against random init, and PGL against global only, per organ and for the mean.
  const vsScratch = labels.flatMap((label) => compareWithBaseline(rows, "scratch", { label }).map((c) => ({ ...c, label })));
  const pglVsGlobal = labels.flatMap((label) => compareWithBaseline(rows.filter((r) => r.method === "pgl" || r.method === "global"), "global", { label }).map((c) => ({ ...c, label })));
  write("table.md", markdownTable(summaries, config.methods, labels) + "\n");
  write("summary.csv", summariesCsv(summaries));
  write("per-seed.csv", perSeedCsv(rows, labels));
  write("comparisons.csv", comparisonsCsv([...vsScratch, ...pglVsGlobal]));
  write("pretexts.csv", pretextsCsv(input.pretrains, config));

  const budgets = [...new Set(summaries.map((s) => s.budget))].sort((a, b) => a - b);
  const figure = writeDiceVsBudget(outDir, summaries, config.methods, labelOf, "mean", { title: "PGL reproduction: mean organ Dice vs labelled cases", x: "labelled training cases", y: "mean organ Dice (mean over seeds, 95% t-CI)" });
  written.push(...figure.files);
  const pngProblem = figure.pngProblem;
  const curves = writeCurveFigures(outDir, input.cells, PGL_METHODS.filter((m) => config.methods.includes(m.name)), "PGL fine-tuning");
  written.push(...curves.files);
  write("README.md", readme(input, summaries, vsScratch, pglVsGlobal, budgets, pngProblem ?? curves.pngProblem));
  return written;
}

function pretextsCsv(records: PretrainRecord[], config: PglConfig): string {
  const cols = config.pgl.levels.flatMap((l) => [`match_level${l}`, `match_level${l}_init`]);
  const lines = [["pretext", "seed", "steps", "seconds", "final_loss", ...cols, "from_cache"].join(",")];
  for (const r of [...records].sort((a, b) => a.pretext.localeCompare(b.pretext) || a.seed - b.seed)) {
    lines.push([r.pretext, r.seed, r.steps, r.seconds, r.finalLoss ?? "", ...cols.map((c) => r.metrics?.[c] ?? ""), r.fromCache].join(","));
  }
  return lines.join("\n") + "\n";
}

type Labelled = Comparison & { label: string };

function readme(input: ReportInput<PglConfig, PglData>, summaries: CellSummary[], vsScratch: Labelled[], pglVsGlobal: Labelled[], budgets: number[], pngProblem?: string): string {
  const { config } = input;
  const find = (cs: Labelled[], method: string, label: string, budget: number) => cs.find((c) => c.method === method && c.label === label && c.budget === budget);
  const lines: string[] = [];
  lines.push(`# PGL (Xie et al. 2020) — prior-guided local self-supervised learning, 3D multi-organ CT: reproduction${input.titleNote ?? ""}`, "");
  lines.push(...notebookLines(input), "");
  lines.push(`Written by \`${input.command}\`; do not edit by hand.`, "");
  lines.push("## The claim and what we found", "");
  lines.push("The paper (abstract, confirmed; no table value is confirmed, so none is quoted): initialising a 3D segmentation network with PGL — global consistency plus a voxel-wise local consistency between two augmented views, aligned through their known spatial transforms — beats both random initialisation and global-consistency-only pretraining. The authors released no code; the method follows the paper's text (src/pretext/local-consistency.ts).", "");
  lines.push(`How we test it: per organ and for the mean over the ${config.organs.length} organs, Dice per test case; a method's gain over another is the mean over seeds and test cases of the per-case difference, with a 95% CI from a two-level bootstrap over the ${config.seeds.length} seeds (each with its own pretraining) and the ${config.testSubjects} test cases. "PGL > global only > random init" holds for an organ at a budget when both gains' CIs (PGL − global only, global only − random init) lie above 0; "PGL > random init" is reported beside it.`, "");
  for (const b of budgets) {
    lines.push(`**${b} labelled case${b === 1 ? "" : "s"}:**`, "");
    lines.push("| organ | PGL − global only | global only − random init | PGL − random init | PGL > global only > random init |", "|---|---|---|---|---|");
    for (const label of [...config.organs, "mean"]) {
      const a = verdictOf(find(pglVsGlobal, "pgl", label, b));
      const g = verdictOf(find(vsScratch, "global", label, b));
      const p = verdictOf(find(vsScratch, "pgl", label, b));
      lines.push(`| ${label === "mean" ? "**mean of organs**" : label} | ${a.text} | ${g.text} | ${p.text} | ${a.holds && g.holds ? "**yes**" : "no"} |`);
    }
    lines.push("");
  }
  const holdsMean = budgets.map((b) => verdictOf(find(pglVsGlobal, "pgl", "mean", b)).holds && verdictOf(find(vsScratch, "global", "mean", b)).holds);
  const pglMean = budgets.map((b) => verdictOf(find(vsScratch, "pgl", "mean", b)).holds);
  lines.push(`Verdict, mean of organs — PGL > global only > random init: ${claimSummary(holdsMean, budgets)}; PGL > random init: ${claimSummary(pglMean, budgets)}.`, "");
  const missed = missedClasses(input.rows.filter((r) => r.label !== "mean"));
  if (missed.length > 0) {
    // One entry per run, listing the organs it never found.
    const runs = new Map<string, string[]>();
    for (const m of missed) (runs.get(`${labelOf(m.method)} at ${m.budget}, seed ${m.seed}`) ?? runs.set(`${labelOf(m.method)} at ${m.budget}, seed ${m.seed}`, []).get(`${labelOf(m.method)} at ${m.budget}, seed ${m.seed}`)!).push(m.label);
    lines.push(`**Organs a run never found** (Dice < 0.1 on most test cases): ${[...runs].map(([run, organs]) => `${run}: ${organs.join(", ")}`).join("; ")}. They stay in the statistics.`, "");
  }
  lines.push("Each CI is valid on its own; over organs, budgets and methods one in twenty may miss by chance. Absolute Dice values are not comparable with the paper's: synthetic phantoms, 6 mm voxels, a small 3D U-Net.", "");

  lines.push("## The pretext: does a voxel's feature find its partner in the other view?", "");
  lines.push(`For ${config.heldOutPairs} pairs of views of held-out (test) cases per pretraining run, each voxel of the first view's feature map (online encoder, before any head) that the second view also shows is matched to the second view's voxel of highest cosine similarity; the share matched to its true partner (the nearest voxel centre to the same point) is given for the trained encoder and for the same network at initialisation (mean ± sd over seeds; chance is one over the voxels of a feature map).`, "");
  const levels = config.pgl.levels;
  lines.push(`| pretext | loss weights (global, local) | ${levels.map((l) => `level ${l}: trained / at init`).join(" | ")} | seeds | pretraining (s, mean) |`, `|---|---|${levels.map(() => "---|").join("")}---|---|`);
  for (const name of Object.keys(PGL_PRETEXTS) as (keyof typeof PGL_PRETEXTS)[]) {
    const rs = input.pretrains.filter((r) => r.pretext === name);
    if (rs.length === 0) continue;
    const pm = (key: string) => {
      const s = summarize(rs.map((r) => r.metrics?.[key] ?? NaN));
      return `${f3(s.mean)} ± ${Number.isFinite(s.sd) ? f3(s.sd) : "–"}`;
    };
    const w = PGL_PRETEXTS[name];
    lines.push(`| ${labelOf(name)} | ${w.global}, ${w.local} | ${levels.map((l) => `${pm(`match_level${l}`)} / ${pm(`match_level${l}_init`)}`).join(" | ")} | ${rs.length} | ${summarize(rs.map((r) => r.seconds)).mean.toFixed(0)} |`);
  }
  lines.push("");

  lines.push("## Every method against random initialisation (mean organ Dice)", "");
  lines.push(...comparisonTable(vsScratch.filter((c) => c.label === "mean"), labelOf), "");
  lines.push("## Table (per seed: mean over test cases; then mean ± sd over seeds)", "");
  lines.push(markdownTable(summaries, config.methods, [...config.organs, "mean"]), "");
  lines.push(...trainingSection(input.cells, config, PGL_METHODS, "mean organ Dice"));
  lines.push(pngProblem ? `Curves: curves-budget-N.html (no PNG: ${pngProblem}).` : budgets.map((b) => `![training curves, ${b} labelled](curves-budget-${b}.png)`).join("\n"), "");
  lines.push("## What was run", "");
  const g = config.grid;
  const v = config.views;
  lines.push(`- Data: ${input.runInfo.data}; labelled pool ${config.labelledPool}, validation ${config.validationSubjects}, fixed test set ${config.testSubjects} cases, the rest unlabelled; split seed ${config.splitSeed}.`);
  lines.push(`- Segmentation: whole abdomens on a ${g.size}×${g.size}×${g.slices} grid of ${g.pixelMm}×${g.pixelMm}×${g.sliceMm} mm (centred on the midline ${g.anteriorMm} mm in front of the spine), HU windowed to [-175, 250] and z-scored per volume; ${config.organs.length} organs (${config.organs.join(", ")}); 3D U-Net ${config.unet.depth} levels, ${config.unet.baseFilters} base filters; cross-entropy + soft Dice; up to ${config.batch} labelled volumes per step; no augmentation.`);
  lines.push(`- Pretext: pairs of ${v.shape.join("×")} views at ${v.spacingMm.join("×")} mm / scale (scale ${v.scale.join("–")}), rotations ±${v.rotateDeg}°${v.rot90 ? " and multiples of 90° about the craniocaudal axis" : ""}, flips along ${["x", "y", "z"].filter((_, i) => v.flip[i]).join(", ") || "no axis"}, centres within ±${v.jitterMm.join("/")} mm; local term at encoder levels ${config.pgl.levels.join(", ")}, global on the pooled bottleneck; heads ${config.pgl.hidden} → ${config.pgl.projection}; target EMA ${config.pgl.ema}; ${config.pretrain.steps} steps of ${config.pairs} pairs, Adam ${config.pretrain.learningRate}; one run per pretext and seed on every non-test case. Transfer: the online encoder.`);
  lines.push(`- Budgets ${config.budgets.join(", ")} × seeds ${config.seeds.join(", ")}; stopping rule above.`);
  lines.push(...provenanceLines(input.runInfo));
  lines.push("");
  return lines.join("\n");
}
