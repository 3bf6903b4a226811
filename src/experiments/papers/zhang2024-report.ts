/**
 * results/zhang2024/: every file is written here from the results store, never by hand.
 *   rows.jsonl                         the store (rows scored raw and with the largest-component step)
 *   table.md                           mean ± sd over seeds: SA and 4CH, with and without that step
 *   summary[-lcc].csv, per-seed[-lcc].csv, comparisons[-lcc].csv   the same as flat files
 *   pretexts.md                        the cross-pretext table: gain over scratch by budget
 *   dice-vs-budget.html (+ .png), curves-budget-N.html (+ .png), pretext-targets.png
 *   run.json                           how the run was made
 *   README.md                          the paper's claims and whether each reproduces here
 *
 * The authors score after keeping each class's largest connected component, so verdicts use those
 * rows ("-lcc" files); the raw rows are reported beside them. The two are never averaged together.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { compareWithBaseline, comparisonsCsv, type Comparison } from "../comparisons.js";
import { compareWithOtherStore } from "../cross-check.js";
import { ensurePlotlyAsset, htmlToPng, lineChartHtml, montagePng, type Series, type Tile } from "../figures.js";
import { claimSummary, comparisonTable, f3, missedClasses, provenanceLines, signed, writeCurveFigures, type ReportInput, reportWriter, trainingSection, verdictOf, notebookLines } from "../report.js";
import { scoredAs, type ResultRow } from "../results.js";
import { markdownTable, perSeedCsv, summariesCsv, summarizeCells, type CellSummary } from "../tables.js";
import type { Zhang2024Data } from "./zhang2024.js";
import { ZHANG2024_METHODS, type Zhang2024Config } from "./zhang2024-config.js";

const LABELS = ["LV", "MYO", "RV", "mean"];
const LCC = "largest-component" as const;
const labelOf = (m: string) => ZHANG2024_METHODS.find((x) => x.name === m)?.label ?? m;
const viewOf = (m: string) => ZHANG2024_METHODS.find((x) => x.name === m)?.view ?? "SA";

interface Scored {
  rows: ResultRow[];
  summaries: CellSummary[];
  /** Every method against scratch of its view, and A+B against A, B and Bai's pretext. */
  comparisons: Comparison[];
}

function scored(rows: ResultRow[]): Scored {
  const sa = rows.filter((r) => viewOf(r.method) === "SA");
  const la = rows.filter((r) => viewOf(r.method) === "4CH");
  const comparisons = [
    ...compareWithBaseline(sa, "scratch"),
    ...compareWithBaseline(la, "4ch-scratch"),
    // Is the combination better than each part, and than the other paper's pretext?
    ...["planes", "location", "anatomical-position"].flatMap((base) => compareWithBaseline(sa.filter((r) => r.method === "planes-location" || r.method === base), base)),
  ];
  return { rows, summaries: summarizeCells(rows), comparisons };
}

const find = (cs: Comparison[], method: string, baseline: string, budget: number) => cs.find((c) => c.method === method && c.baseline === baseline && c.budget === budget);
const diceOf = (s: CellSummary[], method: string, budget: number) => s.find((x) => x.method === method && x.budget === budget && x.label === "mean" && x.metric === "dice")?.summary;

export function writeZhang2024Report(input: ReportInput<Zhang2024Config, Zhang2024Data>): string[] {
  const { outDir, config } = input;
  const { write, written } = reportWriter(outDir);
  const raw = scored(scoredAs(input.rows, undefined));
  const lcc = scored(scoredAs(input.rows, LCC));
  const methods = config.methods;
  const saMethods = methods.filter((m) => viewOf(m) === "SA");
  const laMethods = methods.filter((m) => viewOf(m) === "4CH");
  const budgets = [...new Set(input.cells.map((c) => c.budget))].sort((a, b) => a - b);

  const tables = [
    ["SA segmentation, largest connected component kept (the authors' scoring)", lcc, saMethods],
    ["SA segmentation, raw network output", raw, saMethods],
    ["4CH segmentation, largest connected component kept", lcc, laMethods],
    ["4CH segmentation, raw network output", raw, laMethods],
  ] as const;
  write("table.md", tables.filter(([, , ms]) => ms.length > 0).map(([title, s, ms]) => `### ${title}\n\n${markdownTable(s.summaries, [...ms], LABELS)}\n`).join("\n"));
  for (const [suffix, s] of [["", raw], ["-lcc", lcc]] as const) {
    write(`summary${suffix}.csv`, summariesCsv(s.summaries));
    write(`per-seed${suffix}.csv`, perSeedCsv(s.rows, LABELS));
    write(`comparisons${suffix}.csv`, comparisonsCsv(s.comparisons));
  }
  write("pretexts.md", pretextTable(lcc, raw, budgets, methods).join("\n") + "\n");

  written.push(ensurePlotlyAsset(outDir));
  const series: Series[] = methods.map((m) => {
    const pts = budgets.map((b) => ({ b, s: diceOf(lcc.summaries, m, b) })).filter((p) => p.s);
    return { name: labelOf(m), x: pts.map((p) => p.b), y: pts.map((p) => p.s!.mean), error: pts.map((p) => (Number.isFinite(p.s!.halfWidth) ? p.s!.halfWidth : 0)) };
  });
  write("dice-vs-budget.html", lineChartHtml("Zhang 2024 reproduction: mean Dice (LV, MYO, RV; largest component kept) vs labelled subjects", series, { x: "labelled training subjects", y: "mean Dice (mean over seeds, 95% t-CI)", logX: true }));
  const pngProblem = htmlToPng(path.join(outDir, "dice-vs-budget.html"), path.join(outDir, "dice-vs-budget.png"));
  if (!pngProblem) written.push("dice-vs-budget.png");
  const curves = writeCurveFigures(outDir, input.cells, ZHANG2024_METHODS.filter((m) => methods.includes(m.name)), "Zhang 2024 fine-tuning");
  written.push(...curves.files);
  const targets = targetsPng(input.data);
  if (targets) write("pretext-targets.png", targets);
  write("README.md", readme(input, lcc, raw, budgets, pngProblem ?? curves.pngProblem, Boolean(targets)));
  return written;
}

/** Which anatomy-aware pretext helps most at which budget: gains over scratch with CIs. */
function pretextTable(lcc: Scored, raw: Scored, budgets: number[], methods: string[]): string[] {
  const lines: string[] = [];
  for (const [view, scratch] of [["SA", "scratch"], ["4CH", "4ch-scratch"]] as const) {
    const ms = methods.filter((m) => viewOf(m) === view && m !== scratch);
    if (ms.length === 0) continue;
    lines.push(`### ${view}: gain in mean Dice over scratch, 95% CI (largest component kept; raw output in brackets below)`, "");
    lines.push(`| labelled subjects | scratch Dice | ${ms.map(labelOf).join(" | ")} | best |`, `|---|---|${ms.map(() => "---").join("|")}|---|`);
    for (const b of budgets) {
      const gains = ms.map((m) => ({ m, c: find(lcc.comparisons, m, scratch, b), r: find(raw.comparisons, m, scratch, b) }));
      const best = gains.filter((g) => g.c).sort((x, y) => y.c!.meanGain - x.c!.meanGain)[0];
      const cell = (g: (typeof gains)[number]) => (g.c ? `${signed(g.c.meanGain)} [${signed(g.c.ciLow)}, ${signed(g.c.ciHigh)}]${g.r ? ` (raw ${signed(g.r.meanGain)})` : ""}` : "");
      const base = diceOf(lcc.summaries, scratch, b);
      const bestText = !best ? "" : best.c!.ciLow > 0 ? labelOf(best.m) : best.c!.meanGain > 0 ? `${labelOf(best.m)} (CI includes 0)` : "none above scratch";
      lines.push(`| ${b} | ${base ? f3(base.mean) : ""} | ${gains.map(cell).join(" | ")} | ${bestText} |`);
    }
    lines.push("");
  }
  return lines;
}

/** A training SA slice with its two heatmaps, at base, mid and apex, with the slice location. */
function targetsPng(data: Zhang2024Data): Buffer | undefined {
  const st = data.pool[0]?.items[0];
  if (!st?.heatmaps || !st.heatmapViews || !st.labels) return undefined;
  const area = st.size * st.size;
  const C = st.heatmapViews.length;
  const ks = [1, Math.floor(st.slices / 2), st.slices - 2].filter((k) => k >= 0 && k < st.slices);
  const tiles: Tile[] = ks.flatMap((k) => [
    { image: st.image.subarray(k * area, (k + 1) * area) },
    ...Array.from({ length: C }, (_, c) => ({ image: st.heatmaps!.subarray((k * C + c) * area, (k * C + c + 1) * area) })),
  ]);
  return montagePng(tiles, st.size, 1 + C, 3);
}

function claimLine(name: string, cs: Comparison[], method: string, baseline: string, budgets: number[]): { line: string; holds: boolean[] } {
  const vs = budgets.map((b) => verdictOf(find(cs, method, baseline, b)));
  return { line: `${name}: ${budgets.map((b, i) => `${b} subject${b === 1 ? "" : "s"}: ${vs[i].text}`).join("; ")}.`, holds: vs.map((v) => v.holds) };
}

function readme(input: ReportInput<Zhang2024Config, Zhang2024Data>, lcc: Scored, raw: Scored, budgets: number[], pngProblem: string | undefined, targetsFigure: boolean): string {
  const { config } = input;
  const lines: string[] = [];
  const cs = lcc.comparisons;
  lines.push(`# Zhang et al. 2024 — anatomy-oriented imaging planes: reproduction${input.titleNote ?? ""}`, "");
  lines.push(...notebookLines(input), "");
  lines.push(`Written by \`${input.command}\`; do not edit by hand.`, "");
  lines.push("## The claims and what we found", "");
  lines.push("The paper (abstract, confirmed; no table value is confirmed, so none is quoted): regressing where the other imaging planes cut an image (pretext A) and where a slice lies in its stack (pretext B) each help segmentation with few labels; the two are complementary and their multitask combination is best; and it beats other recent self-supervised methods.", "");
  lines.push(`How we test it: on SA segmentation, each method's gain over the same U-Net from scratch is the mean over seeds and test subjects of the per-subject difference in mean Dice (LV, MYO, RV), after the largest-connected-component step the authors apply; its 95% CI is a two-level bootstrap over the ${config.seeds.length} seeds (each with its own pretraining) and the ${config.testSubjects} test subjects, shared by all drawn seeds. A claim holds at a budget when that CI lies above 0. The budgets, seeds, splits and test subjects are Bai 2019's (results/bai2019).`, "");
  // Runs that never found a structure; the gains without the seeds where scratch did (post hoc).
  const missed = missedClasses(raw.rows);
  const failed = missed.filter((m) => m.method === "scratch");
  const drop = new Set(failed.map((m) => `${m.budget}|${m.seed}`));
  const robust = compareWithBaseline(lcc.rows.filter((r) => viewOf(r.method) === "SA" && !drop.has(`${r.budget}|${r.seed}`)), "scratch");
  // Budgets where a claim holds, scratch had a failed seed, and without that seed it does not hold.
  const fragile = (method: string, holds: boolean[]) =>
    budgets.filter((bud, i) => holds[i] && failed.some((f) => f.budget === bud) && !((find(robust, method, "scratch", bud)?.ciLow ?? -1) > 0));
  const caveat = (method: string, holds: boolean[]) => {
    const f = fragile(method, holds);
    return f.length === 0 ? "" : ` Not robust: at ${f.join(", ")} it holds only with a scratch run that never found a structure (see the sensitivity check below).`;
  };
  const a = claimLine("**Claim 1 — A (plane intersections) beats scratch**", cs, "planes", "scratch", budgets);
  const b = claimLine("**Claim 2 — B (slice location) beats scratch**", cs, "location", "scratch", budgets);
  const abA = claimLine("A+B vs A alone", cs, "planes-location", "planes", budgets);
  const abB = claimLine("A+B vs B alone", cs, "planes-location", "location", budgets);
  const abS = claimLine("A+B vs scratch", cs, "planes-location", "scratch", budgets);
  const best = budgets.map((_, i) => abA.holds[i] && abB.holds[i]);
  lines.push(`${a.line} Verdict: ${claimSummary(a.holds, budgets)}.${caveat("planes", a.holds)}`, "");
  lines.push(`${b.line} Verdict: ${claimSummary(b.holds, budgets)}.${caveat("location", b.holds)}`, "");
  lines.push(`**Claim 3 — A+B is best (the pretexts are complementary).** It must beat both A and B alone. ${abA.line} ${abB.line} (${abS.line}) Verdict: ${claimSummary(best, budgets)}.`, "");
  const vsBai = claimLine("A+B vs Bai 2019's anatomical positions", cs, "planes-location", "anatomical-position", budgets);
  if (input.config.methods.includes("anatomical-position")) {
    lines.push(`**Beside another anatomy-aware pretext (Bai 2019, same splits, same pretraining budget).** ${vsBai.line} The paper's comparison with generic SSL methods (SimCLR, Models Genesis, ...) is not run here; see the baselines issue.`, "");
  }
  // Sanity: scratch should rise with the label budget; a fall beyond its CI means a failed run.
  const scratchCurve = budgets.map((b) => ({ b, s: diceOf(lcc.summaries, "scratch", b) })).filter((x) => x.s);
  const falls = scratchCurve.slice(1).map((x, i) => ({ x, prev: scratchCurve[i] })).filter(({ x, prev }) => x.s!.mean < prev.s!.mean).map(({ x, prev }) => `${prev.b} to ${x.b} (${f3(prev.s!.mean)} → ${f3(x.s!.mean)})`);
  lines.push(`Sanity check: scratch mean Dice by budget ${scratchCurve.map((x) => `${x.b}: ${f3(x.s!.mean)} [${f3(x.s!.ciLow)}, ${f3(x.s!.ciHigh)}]`).join(", ")} — ${falls.length === 0 ? "it rises with the label budget" : `its mean FALLS from ${falls.join(", ")}: a failed scratch run (below) pulls it down, and every gain at that budget inherits it`}.`, "");
  if (missed.length > 0) lines.push(`**Runs that never found a structure** (Dice < 0.1 on most test images, raw output): ${missed.map((m) => `${labelOf(m.method)} at ${m.budget}, seed ${m.seed}: ${m.label} (${m.images}/${m.of} images)`).join("; ")}. They stay in the statistics.`, "");
  if (failed.length > 0) {
    const atBudgets = [...new Set(failed.map((m) => m.budget))].sort((x, y) => x - y);
    lines.push(`**Sensitivity (post hoc): without the seeds in which scratch never found a structure** (${failed.map((m) => `budget ${m.budget} seed ${m.seed}`).join(", ")}), the gains over scratch at ${atBudgets.join(", ")} labelled subject(s) are ${atBudgets.map((b) => robust.filter((c) => c.budget === b).map((c) => `${labelOf(c.method)} ${signed(c.meanGain)} [${signed(c.ciLow)}, ${signed(c.ciHigh)}]`).join("; ")).join(" | ")} (${robust.find((c) => c.budget === atBudgets[0])?.seeds ?? 0} seeds). A verdict that holds only with the failed scratch run in it says more about that run than about the pretext.`, "");
  }
  lines.push("Each CI is valid on its own; with several methods and budgets, one in twenty CIs may miss by chance, so a claim resting on one budget is weak evidence. Absolute Dice values are not comparable with the paper's: synthetic phantoms, 64×64 images, a small U-Net.", "");

  const cross = compareWithOtherStore(input.rows, path.join(path.dirname(input.outDir), "bai2019", "rows.jsonl"), [["scratch", "scratch"], ["anatomical-position", "ssl-all"]]);
  if (cross && cross.every((c) => c.rows > 0)) {
    lines.push(`Cross-check with results/bai2019 (same splits, seeds and settings): ${cross.map((c) => `${c.identical} of ${c.rows} rows of ${c.mine} equal Bai's ${c.theirs} exactly`).join("; ")}${cross.every((c) => c.identical === c.rows) ? ": the shared protocol is deterministic across papers" : ": they DIFFER, so something besides the pretext differs between the papers"}.`, "");
  }
  lines.push("## Which anatomy-aware pretext helps most, at which budget", "");
  lines.push(fs.readFileSync(path.join(input.outDir, "pretexts.md"), "utf8"));
  lines.push("## The largest-connected-component step", "");
  lines.push("Mean over seeds of the mean Dice and HD95 (mm; n/a when a seed missed a structure, which leaves its distance undefined), raw network output and after keeping each class's largest 3D connected component (face connectivity). The step removes stray islands: it changes distances far more than overlap.", "");
  lines.push("| labelled subjects | method | Dice raw | Dice LCC | HD95 raw | HD95 LCC |", "|---|---|---|---|---|---|");
  const metricOf = (s: CellSummary[], m: string, bud: number, metric: ResultRow["metric"]) => s.find((x) => x.method === m && x.budget === bud && x.label === "mean" && x.metric === metric)?.summary;
  for (const bud of budgets)
    for (const m of config.methods) {
      const d0 = metricOf(raw.summaries, m, bud, "dice");
      if (!d0) continue;
      const d1 = metricOf(lcc.summaries, m, bud, "dice");
      const h0 = metricOf(raw.summaries, m, bud, "hd95");
      const h1 = metricOf(lcc.summaries, m, bud, "hd95");
      const mm = (h: typeof h0) => (h && Number.isFinite(h.mean) ? h.mean.toFixed(1) : "n/a");
      lines.push(`| ${bud} | ${labelOf(m)} | ${f3(d0.mean)} | ${d1 ? f3(d1.mean) : "n/a"} | ${mm(h0)} | ${mm(h1)} |`);
    }
  lines.push("");
  lines.push("## Every method against scratch (largest component kept)", "");
  lines.push(...comparisonTable(cs.filter((c) => c.baseline === "scratch" || c.baseline === "4ch-scratch"), labelOf), "");
  lines.push("The same without the step: comparisons.csv; A+B against A, B and Bai's pretext: comparisons-lcc.csv (rows with another baseline).", "");
  lines.push("## Tables (per seed: mean over test subjects and phases; then mean ± sd over seeds)", "");
  lines.push(fs.readFileSync(path.join(input.outDir, "table.md"), "utf8"));
  lines.push("Each seed's own means: per-seed.csv (raw), per-seed-lcc.csv.", "");
  if (config.methods.some((m) => viewOf(m) === "4CH")) {
    lines.push("## Long-axis (4CH) segmentation", "");
    const la = config.methods.filter((m) => viewOf(m) === "4CH" && m !== "4ch-scratch");
    lines.push(`The same initialisations (pretrained on SA slices only, as in the authors' code) fine-tuned on the 4CH images of the same labelled subjects (2 images per subject: ED, ES), validated and tested on the 4CH images of the same validation and test subjects. Does what the pretexts teach on SA transfer to another view? ${la.map((m) => claimLine(labelOf(m), cs, m, "4ch-scratch", budgets).line).join(" ")} The 4CH "3D" metrics are over one slice.`, "");
  }
  lines.push(...trainingSection(input.cells, config, ZHANG2024_METHODS));
  lines.push(pngProblem ? `Curves: curves-budget-N.html (interactive; no PNG: ${pngProblem}).` : `Curves (validation Dice solid, training loss dotted, one line per seed): ${budgets.map((x) => `[${x}](curves-budget-${x}.png)`).join(", ")} labelled subjects; interactive: curves-budget-N.html.`, "");
  lines.push("## Figures", "");
  lines.push(pngProblem ? `- dice-vs-budget.html (interactive). No PNG: ${pngProblem}.` : "- ![Dice vs budget](dice-vs-budget.png) (interactive: dice-vs-budget.html; error bars: 95% t-CI over seeds; largest component kept)");
  if (targetsFigure) lines.push(`- pretext-targets.png: pretext A's targets on a training SA stack (rows: a basal, a mid and an apical slice; columns: the image, then the ${config.heatmapViews.join(" and ")} line heatmaps, sigma ${config.sigmaMm.toFixed(2)} mm).`);
  lines.push("");
  lines.push("## What was run", "");
  lines.push(`- Data: ${input.runInfo.data}; labelled pool ${config.labelledPool}, validation ${config.validationSubjects}, fixed test set ${config.testSubjects} subjects (ED + ES), the rest unlabelled; split seed ${config.splitSeed} (Bai 2019's).`);
  lines.push(`- Images: SA stacks (and 4CH images) resampled to ${config.size}×${config.size} pixels of ${config.pixel} mm, intensities clipped to the 1st–99th percentile per stack. Augmentation as Bai 2019 (rotation ±${config.augment.rotateDeg}°, scale, shifts, gamma, gain, noise; no flips), applied to the image and its heatmaps alike.`);
  lines.push(`- Network: 2D U-Net, ${config.unet.depth} levels, ${config.unet.baseFilters} base filters doubling, conv + BN + ReLU, transposed-conv upsampling (the authors: 64 → 1024 filters at 224×224).`);
  lines.push(`- Pretext A: one heatmap per long-axis view (${config.heatmapViews.join(", ")}), exp(−d²/2σ²) of the in-plane distance to the line, σ = ${config.sigmaMm.toFixed(2)} mm (the authors' 6 px at 1.26 mm), MSE. Pretext B: each slice's position along the stack normal, 0 at the base, 1 at the apex, from the affine; global max-pool of the bottleneck → ${config.locationHead.hidden} units (dropout ${config.locationHead.dropout}) → 1 (sigmoid), MSE. A+B: ${config.weights.planes} × A + ${config.weights.location} × B. A alone and B alone are the same network with the other weight 0.`);
  lines.push(`- Pretraining (every pretext, Bai's included): ${config.pretrain.steps} steps, batch ${config.batch}, Adam ${config.pretrain.learningRate}, on every non-test SA image without labels; one run per pretext and seed (seeds ${config.seeds.join(", ")}). Transfer: every weight but the final 1×1 conv (the slice-location head is dropped).`);
  lines.push(`- Fine-tuning: batch ${config.batch}, cross-entropy + soft Dice; stopping rule above. Budgets ${config.budgets.join(", ")} × seeds ${config.seeds.join(", ")}, nested labelled subsets per seed.`);
  lines.push("- Metrics: 3D Dice per class, HD95 and ASSD in mm with the stack's spacing; each scored on the raw prediction and after the largest-component step.");
  lines.push(...provenanceLines(input.runInfo));
  lines.push("", "## Where we differ from the authors' code", "");
  lines.push("- Pretraining and fine-tuning data are one synthetic population (the authors pretrain on Kaggle DSB and fine-tune on ACDC); pretraining sees only non-test subjects.");
  lines.push("- Image size, network width and pretraining length are scaled to 2 CPU cores; every pretext gets the same pretraining budget and augmentation (the authors' augmentation code is unused).");
  lines.push("- Validation subjects carry labels (as in the authors' code, which picks the best checkpoint by validation Dice); the same 5 for every method.");
  lines.push("");
  return lines.join("\n");
}
