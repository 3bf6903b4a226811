/**
 * The three leaderboards (issue 14) and `anatomy-ssl reproduce baselines`: run the generic
 * baselines' missing cells (papers/baselines-*.ts), then write results/leaderboard/ from every
 * store of the same dataset. A new pretext joins a leaderboard by one entry here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gitCommit, machineLabel, projectRoot } from "../provenance.js";
import { computeLeaderboard, differencesCsv, leaderboardCsv, leaderboardMarkdown, loadLeaderboardRows, writeGainFigure, type LeaderboardResult, type LeaderboardSpec } from "./leaderboard.js";
import { GENERIC_METHODS } from "./papers/baselines-generic.js";

const generic = (from: string, names: (keyof typeof GENERIC_METHODS)[]) => names.map((n) => ({ method: n, from, label: GENERIC_METHODS[n].label, kind: "generic" as const, pretext: GENERIC_METHODS[n].pretext }));

/** Settings that decide the data, the split and the fine-tuning of a 2D/3D protocol. */
const PROTOCOL_KEYS = ["dataset", "syntheticSubjects", "labelledPool", "validationSubjects", "testSubjects", "splitSeed", "budgets", "seeds", "batch", "finetune", "unet"];

export const LEADERBOARDS: LeaderboardSpec[] = [
  {
    name: "cardiac",
    title: "Cardiac MR (Bai 2019's splits; LV, MYO, RV)",
    label: "mean",
    sharedKeys: [...PROTOCOL_KEYS, "exam", "size", "pixel", "augment"],
    entries: [
      { method: "scratch", from: "bai2019", label: "U-Net from scratch", kind: "scratch" },
      { method: "ssl-all", from: "bai2019", label: "Bai 2019 anatomical positions (SSL+All)", kind: "anatomy", pretext: "anatomical-position" },
      { method: "planes", from: "zhang2024", label: "Zhang 2024 A: plane intersections", kind: "anatomy", pretext: "plane-intersection" },
      { method: "location", from: "zhang2024", label: "Zhang 2024 B: slice location", kind: "anatomy", pretext: "slice-location" },
      { method: "planes-location", from: "zhang2024", label: "Zhang 2024 A+B", kind: "anatomy", pretext: "plane-location" },
      ...generic("baselines-cardiac", ["rotation", "genesis", "simclr", "mim"]),
    ],
  },
  {
    name: "kidney",
    title: "Kidney CT, 2D (the kidney paper's splits; kidney Dice)",
    label: "kidney",
    sharedKeys: [...PROTOCOL_KEYS, "ct", "grid", "foregroundFraction"],
    entries: [
      { method: "scratch", from: "kidney", label: "U-Net from scratch", kind: "scratch" },
      { method: "side-free", from: "kidney", label: "same-side siamese, label-free sections", kind: "anatomy", pretext: "side-free-mirrored" },
      { method: "side-labels", from: "kidney", label: "same-side siamese, kidney-mask crops", kind: "anatomy", pretext: "side-labels", note: "crops with the kidney labels, as the authors' code" },
      ...generic("baselines-kidney", ["rotation", "genesis", "simclr", "mim"]),
    ],
  },
  {
    name: "abdomen",
    title: "Abdominal CT, 3D (PGL's splits; mean over 8 organs)",
    label: "mean",
    sharedKeys: [...PROTOCOL_KEYS, "ct", "grid", "organs"],
    entries: [
      { method: "scratch", from: "pgl", label: "random initialisation", kind: "scratch" },
      { method: "pgl", from: "pgl", label: "PGL (local + global)", kind: "anatomy", pretext: "pgl" },
      { method: "local", from: "pgl", label: "PGL local term only", kind: "anatomy", pretext: "local" },
      { method: "global", from: "pgl", label: "BYOL global only (generic contrastive)", kind: "generic", pretext: "global" },
      ...generic("baselines-pgl", ["rotation", "genesis", "mim"]),
    ],
  },
];

/** The baseline runs `reproduce baselines` computes before writing the leaderboards. */
export const BASELINE_RUNS = ["baselines-cardiac", "baselines-kidney", "baselines-pgl"];

/** Write results/leaderboard/ (README, one CSV and one figure per dataset). */
export function writeLeaderboards(options: { resultsDir?: string; outDir?: string; specs?: LeaderboardSpec[] } = {}): { outDir: string; results: LeaderboardResult[]; files: string[] } {
  const resultsDir = options.resultsDir ?? path.join(projectRoot(), "results");
  const outDir = options.outDir ?? path.join(resultsDir, "leaderboard");
  fs.mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const results: LeaderboardResult[] = [];
  const lines = [
    "# Leaderboard: anatomy-aware against generic SSL pretexts",
    "",
    "Written by `anatomy-ssl reproduce baselines` from the stores of the papers and of the generic baseline runs; do not edit by hand. Every pretext here is fine-tuned by its dataset's own protocol on the same splits, label budgets, seeds and test subjects; nothing is tuned on the test set. The generic pretexts get the same pretraining steps, learning rate and batch as the dataset's own pretext. Notebook: [notebooks/05-baselines.ipynb](../../notebooks/05-baselines.ipynb).",
    "",
  ];
  for (const spec of options.specs ?? LEADERBOARDS) {
    const r = computeLeaderboard(spec, loadLeaderboardRows(spec, resultsDir));
    results.push(r);
    const figure = writeGainFigure(outDir, r);
    files.push(figure.file, ...(figure.png ? [figure.png] : []));
    fs.writeFileSync(path.join(outDir, `${spec.name}.csv`), leaderboardCsv(r));
    files.push(`${spec.name}.csv`);
    fs.writeFileSync(path.join(outDir, `${spec.name}-differences.csv`), differencesCsv(r));
    files.push(`${spec.name}-differences.csv`);
    lines.push(...leaderboardMarkdown(r, figure));
  }
  lines.push("## How this was made", "", `- Written on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC by code ${gitCommit()} on ${machineLabel()}, from the stores in ${[...new Set((options.specs ?? LEADERBOARDS).flatMap((s) => s.entries.map((e) => `results/${e.from}`)))].join(", ")} (each README there says how, where and with what code its cells were computed).`, "");
  fs.writeFileSync(path.join(outDir, "README.md"), lines.join("\n"));
  files.push("README.md");
  return { outDir, results, files };
}
