/**
 * One leaderboard per dataset (issue 14): every pretext, anatomy-aware and generic, at every
 * label budget, read from the results stores the papers and the baseline runs already wrote
 * (nothing is recomputed here), on the same splits, test subjects and seeds.
 *
 * - Mean Dice: mean over seeds of the per-seed test means, with the protocol's 95% t-CI over seeds
 *   (tables.ts); the gain over scratch and every anatomy-minus-generic difference: the protocol's
 *   two-level bootstrap over seeds and test subjects (comparisons.ts). A pretext "beats" another at
 *   a budget when the CI of their difference lies above 0. With dozens of such pairs a few CIs
 *   exclude 0 by chance alone, so each pair's bootstrap p (the same draws as its CI) is also
 *   Holm-adjusted over the dataset's whole family of pairs; a "beats" that survives that
 *   correction is marked.
 * - Rank: by mean Dice within a budget (1 = best); ranks are descriptive, the CIs decide.
 * - Pretraining cost: wall seconds per pretraining run (mean over seeds) from the stores'
 *   pretraining records, wherever a store of the same dataset recorded that pretext. Stores
 *   written before records existed (bai2019, zhang2024) only know their run's total: their
 *   pretexts show that run's average per pretraining run, marked as such.
 * - Stores are combined only when their configurations agree on every setting that decides the
 *   data, the split and the fine-tuning (`sharedKeys`); otherwise it is an error naming the keys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { compareWithBaseline, type Comparison } from "./comparisons.js";
import { ensurePlotlyAsset, htmlToPng, plotlyPageHtml } from "./figures.js";
import type { ProtocolConfig } from "./protocol.js";
import { cellKey, ResultsStore, scoredAs, type PretrainRecord, type ResultRow } from "./results.js";
import { missedClasses, readRunInfo } from "./report.js";
import { summarizeCells } from "./tables.js";
import { holmAdjust } from "../metrics/multiple-comparisons.js";
import type { Summary } from "../metrics/stats.js";

export type PretextKind = "scratch" | "anatomy" | "generic";

export interface LeaderboardEntry {
  /** Method name in its store. */
  method: string;
  /** The results folder (under results/) whose store holds it. */
  from: string;
  label: string;
  kind: PretextKind;
  /** Its pretext's name in the stores' pretraining records (none for scratch). */
  pretext?: string;
  /** A caveat shown beside it (e.g. "crops with the kidney labels"). */
  note?: string;
}

export interface LeaderboardSpec {
  /** File prefix and heading: "cardiac", "kidney", "abdomen". */
  name: string;
  title: string;
  /** The Dice compared: "mean" over classes or one class. */
  label: string;
  /** Settings every combined store must share. */
  sharedKeys: string[];
  entries: LeaderboardEntry[];
}

export interface MethodRow {
  entry: LeaderboardEntry;
  budget: number;
  dice: Summary;
  rank: number;
  gain?: Comparison;
  pretrainSeconds?: number;
  pretrainRuns: number;
  /** Where the cost comes from: the pretext's own records, or its run's average over all its pretexts. */
  pretrainSource?: "records" | "run average";
}

/** A results folder's pretraining total from run.json (all its pretexts together), and where it ran. */
export interface RunPretraining {
  seconds: number;
  runs: number;
  /** The compute backends of the invocations that trained or pretrained anything (run.json). */
  backends: string[];
}

export interface LeaderboardResult {
  spec: LeaderboardSpec;
  budgets: number[];
  seeds: number[];
  rows: MethodRow[];
  /** anatomy − generic at each budget; holmP: c.bootstrapP Holm-adjusted over all the pairs. */
  pairs: { anatomy: LeaderboardEntry; generic: LeaderboardEntry; budget: number; c: Comparison; holmP: number }[];
  subjects: number;
  /** run.json facts per results folder, for the cost caveats. */
  runs: Map<string, RunPretraining>;
  /** Cells that never found a compared class (report.ts, missedClasses): they stay in the statistics. */
  missed: { entry: LeaderboardEntry; budget: number; seed: number; label: string; images: number; of: number }[];
}

/** A cell that never found a class, as missedClasses reports it. */
export type MissedCell = ReturnType<typeof missedClasses>[number];

const get = (o: unknown, key: string): unknown => key.split(".").reduce<unknown>((n, k) => (n && typeof n === "object" ? (n as Record<string, unknown>)[k] : undefined), o);

/** What a leaderboard reads from its stores (loadLeaderboardRows). */
export interface LeaderboardStores {
  /** Dice rows of the compared label, raw scoring, of the entries' methods. */
  rows: ResultRow[];
  pretrains: PretrainRecord[];
  config: ProtocolConfig;
  /** run.json facts per results folder. */
  runPretraining: Map<string, RunPretraining>;
  /** Cells that never found a compared class, with their folder. */
  missed: (MissedCell & { from: string })[];
}

/** Load and check the stores of a leaderboard; throws naming a missing store, cell or differing setting. */
export function loadLeaderboardRows(spec: LeaderboardSpec, resultsDir: string): LeaderboardStores {
  const folders = [...new Set(spec.entries.map((e) => e.from))];
  const configs = new Map<string, ProtocolConfig>();
  const rows: ResultRow[] = [];
  const pretrains: PretrainRecord[] = [];
  const runPretraining = new Map<string, RunPretraining>();
  const missed: (MissedCell & { from: string })[] = [];
  for (const folder of folders) {
    const dir = path.join(resultsDir, folder);
    const run = readRunInfo(path.join(dir, "run.json"));
    if (run) {
      // Stores older than a field lack it in their invocations: count it as 0.
      const inv = run.invocations ?? [];
      // The backend's headline only: the reason native kernels did not load is in run.json.
      const backends = inv.filter((i) => (i.cellsRun ?? 0) + (i.pretrainRuns ?? 0) > 0 && i.backend).map((i) => i.backend!.replace(/(native kernels not used).*$/, "$1"));
      runPretraining.set(folder, { seconds: inv.reduce((t, i) => t + (i.pretrainSeconds ?? 0), 0), runs: inv.reduce((t, i) => t + (i.pretrainRuns ?? 0), 0), backends: [...new Set(backends)] });
    }
    const configFile = path.join(dir, "config.json");
    if (!fs.existsSync(configFile)) throw new Error(`leaderboard ${spec.name}: ${configFile} not found: run \`anatomy-ssl reproduce ${folder}\` first`);
    configs.set(folder, (JSON.parse(fs.readFileSync(configFile, "utf8")) as { config: ProtocolConfig }).config);
    const store = new ResultsStore(path.join(dir, "rows.jsonl")).load();
    const wanted = new Set(spec.entries.filter((e) => e.from === folder).map((e) => e.method));
    const raw = scoredAs(store.rows, undefined).filter((r) => wanted.has(r.method) && r.metric === "dice");
    rows.push(...raw.filter((r) => r.label === spec.label));
    // The classes the compared Dice covers: all of them for "mean", else that one.
    missed.push(...missedClasses(raw.filter((r) => spec.label === "mean" || r.label === spec.label)).map((m) => ({ ...m, from: folder })));
    pretrains.push(...store.pretrains.values());
  }
  const [first, ...rest] = folders;
  const base = configs.get(first)!;
  for (const folder of rest) {
    const differ = spec.sharedKeys.filter((k) => JSON.stringify(get(configs.get(folder), k)) !== JSON.stringify(get(base, k)));
    if (differ.length) throw new Error(`leaderboard ${spec.name}: results/${folder} and results/${first} were made with different ${differ.join(", ")}; they cannot share one leaderboard`);
  }
  // Every entry needs every (budget, seed) cell of the host's grid.
  const have = new Set(rows.map((r) => `${r.method}@${r.budget}@${r.seed}`));
  const missing = spec.entries.flatMap((e) => base.budgets.flatMap((b) => base.seeds.filter((s) => !have.has(`${e.method}@${b}@${s}`)).map((s) => `${e.method} (results/${e.from}) ${cellKey({ method: e.method, budget: b, seed: s })}`)));
  if (missing.length) throw new Error(`leaderboard ${spec.name}: ${missing.length} cells missing, e.g. ${missing.slice(0, 3).join("; ")}: run \`anatomy-ssl reproduce\` for those folders first`);
  return { rows, pretrains, config: base, runPretraining, missed };
}

/** The leaderboard's numbers from loaded rows. */
export function computeLeaderboard(spec: LeaderboardSpec, { rows, pretrains, config, runPretraining, missed: missedCells }: LeaderboardStores): LeaderboardResult {
  const scratch = spec.entries.find((e) => e.kind === "scratch");
  if (!scratch) throw new Error(`leaderboard ${spec.name}: no scratch entry`);
  const summaries = summarizeCells(rows);
  const gains = compareWithBaseline(rows, scratch.method, { label: spec.label });
  const budgets = [...config.budgets].sort((a, b) => a - b);
  const out: MethodRow[] = [];
  for (const budget of budgets) {
    const here = spec.entries.map((entry) => {
      const dice = summaries.find((s) => s.method === entry.method && s.budget === budget)!.summary;
      const runs = entry.pretext ? dedupe(pretrains.filter((p) => p.pretext === entry.pretext && config.seeds.includes(p.seed))) : [];
      const seconds = runs.map((p) => p.seconds).filter(Number.isFinite);
      const row: MethodRow = { entry, budget, dice, rank: 0, gain: gains.find((g) => g.method === entry.method && g.budget === budget), pretrainRuns: seconds.length };
      const run = runPretraining.get(entry.from);
      if (seconds.length) Object.assign(row, { pretrainSeconds: seconds.reduce((a, b) => a + b, 0) / seconds.length, pretrainSource: "records" });
      else if (entry.pretext && run && run.runs > 0) Object.assign(row, { pretrainSeconds: run.seconds / run.runs, pretrainRuns: run.runs, pretrainSource: "run average" });
      return row;
    });
    [...here].sort((a, b) => b.dice.mean - a.dice.mean).forEach((r, i) => (r.rank = i + 1));
    out.push(...here);
  }
  const pairs: LeaderboardResult["pairs"] = [];
  for (const g of spec.entries.filter((e) => e.kind === "generic")) {
    const cs = compareWithBaseline(rows.filter((r) => r.method === g.method || spec.entries.some((e) => e.kind === "anatomy" && e.method === r.method)), g.method, { label: spec.label });
    for (const a of spec.entries.filter((e) => e.kind === "anatomy")) for (const c of cs.filter((x) => x.method === a.method)) pairs.push({ anatomy: a, generic: g, budget: c.budget, c, holmP: NaN });
  }
  holmAdjust(pairs.map((p) => p.c.bootstrapP)).forEach((q, i) => (pairs[i].holmP = q));
  const subjects = new Set(rows.filter((r) => r.method === scratch.method).map((r) => r.subject)).size;
  const missed = missedCells.flatMap((m) => spec.entries.filter((e) => e.method === m.method && e.from === m.from).map((entry) => ({ entry, budget: m.budget, seed: m.seed, label: m.label, images: m.images, of: m.of })));
  return { spec, budgets, seeds: [...config.seeds], rows: out, pairs, subjects, runs: runPretraining, missed };
}

/** One record per (pretext, seed): a store may hold a cached copy of another store's run. */
function dedupe(records: PretrainRecord[]): PretrainRecord[] {
  const byKey = new Map<string, PretrainRecord>();
  for (const r of records) {
    const k = `${r.pretext}|${r.seed}`;
    const have = byKey.get(k);
    if (!have || (have.fromCache && !r.fromCache)) byKey.set(k, r);
  }
  return [...byKey.values()];
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a");
const sg = (x: number) => `${x >= 0 ? "+" : ""}${f3(x)}`;
const ci = (c: Comparison) => `${sg(c.meanGain)} [${sg(c.ciLow)}, ${sg(c.ciHigh)}]`;
/** The CI of the difference excludes 0, on one side. */
const beats = (c: Comparison) => c.ciLow > 0;
const losesTo = (c: Comparison) => c.ciHigh < 0;
/** The difference also survives Holm's correction over the family (family-wise 5%). */
const survivesHolm = (p: { holmP: number; c: Comparison }) => (beats(p.c) || losesTo(p.c)) && p.holmP <= 0.05;
const kindText: Record<PretextKind, string> = { scratch: "none", anatomy: "anatomy-aware", generic: "generic" };

/** Markdown for one dataset: the table at every budget, the anatomy-vs-generic verdicts, plain statements. */
export function leaderboardMarkdown(r: LeaderboardResult, figure: { file: string; png?: string }): string[] {
  const { spec } = r;
  const lines = [`## ${spec.title}`, ""];
  lines.push(`Dice: ${spec.label === "mean" ? "mean over classes" : spec.label}; ${r.seeds.length} seeds x ${r.subjects} test subjects. Mean Dice ± half-width of the 95% t-CI over seeds; gains and differences: mean, 95% bootstrap CI over seeds and test subjects.`, "");
  for (const budget of r.budgets) {
    lines.push(`### ${budget} labelled`, "", "| rank | pretext | kind | mean Dice [95% CI] | gain over scratch [95% CI] | pretraining (s per run) | from |", "|---|---|---|---|---|---|---|");
    for (const row of r.rows.filter((x) => x.budget === budget).sort((a, b) => a.rank - b.rank)) {
      const d = row.dice;
      const cost =
        row.entry.kind === "scratch"
          ? "-"
          : row.pretrainSeconds === undefined
            ? "not recorded"
            : row.pretrainSource === "run average"
              ? `~${row.pretrainSeconds.toFixed(0)} (average of results/${row.entry.from}'s ${row.pretrainRuns} runs of all its pretexts)`
              : `${row.pretrainSeconds.toFixed(0)} (${row.pretrainRuns} runs)`;
      lines.push(`| ${row.rank} | ${row.entry.label}${row.entry.note ? ` (${row.entry.note})` : ""} | ${kindText[row.entry.kind]} | ${f3(d.mean)} ± ${Number.isFinite(d.halfWidth) ? d.halfWidth.toFixed(3) : "n/a"} | ${row.gain ? ci(row.gain) : "-"} | ${cost} | results/${row.entry.from} |`);
    }
    lines.push("");
  }
  if (r.missed.length) {
    lines.push(
      `**Runs that never found a structure** (Dice < 0.1 on most test images): ${r.missed.map((m) => `${m.entry.label} at ${m.budget}, seed ${m.seed}: ${m.label} (${m.images}/${m.of})`).join("; ")}. They stay in the statistics and make much of the spread across seeds; every gain or difference at their budget and seed carries them (per-seed.csv in each folder shows each seed).`,
      "",
    );
  }
  lines.push(...costCaveats(r), "");
  const excluding = r.pairs.filter((p) => beats(p.c) || losesTo(p.c)).length;
  const surviving = r.pairs.filter(survivesHolm).length;
  lines.push(
    "### Does each anatomy-aware pretext beat each generic one?",
    "",
    `Difference in Dice (anatomy-aware − generic), mean [95% CI]; **bold** when the CI excludes 0; † when it still excludes 0 after Holm's correction over all ${r.pairs.length} comparisons of this table (the bootstrap p of each difference, Holm-adjusted, at most 0.05: a family-wise 5% chance of any false claim in the table).`,
    "",
    `${excluding} of the ${r.pairs.length} CIs exclude 0; if no pretext differed from another, about ${(0.05 * r.pairs.length).toFixed(1)} would by chance. ${surviving} of them survive Holm's correction.`,
    "",
  );
  const generics = spec.entries.filter((e) => e.kind === "generic");
  lines.push(`| labelled | anatomy-aware | ${generics.map((g) => g.label).join(" | ")} |`, `|---|---|${generics.map(() => "---").join("|")}|`);
  for (const budget of r.budgets) {
    for (const a of spec.entries.filter((e) => e.kind === "anatomy")) {
      const cellsText = generics.map((g) => {
        const p = r.pairs.find((x) => x.anatomy === a && x.generic === g && x.budget === budget);
        if (!p) return "n/a";
        const text = ci(p.c);
        return beats(p.c) || losesTo(p.c) ? `**${text}**${survivesHolm(p) ? " †" : ""}` : text;
      });
      lines.push(`| ${budget} | ${a.label} | ${cellsText.join(" | ")} |`);
    }
  }
  lines.push("", "In words (beats: the CI of the difference lies above 0; loses to: below 0; †: also after Holm's correction):", "");
  for (const a of spec.entries.filter((e) => e.kind === "anatomy")) {
    const parts = r.budgets.map((budget) => {
      const ps = r.pairs.filter((x) => x.anatomy === a && x.budget === budget);
      const named = (p: (typeof ps)[number]) => `${p.generic.label}${survivesHolm(p) ? " †" : ""}`;
      const wins = ps.filter((p) => beats(p.c)).map(named);
      const losses = ps.filter((p) => losesTo(p.c)).map(named);
      return `at ${budget}: beats ${wins.length ? wins.join(", ") : "none"}; loses to ${losses.length ? losses.join(", ") : "none"}; no difference shown with the other ${ps.length - wins.length - losses.length}`;
    });
    lines.push(`- **${a.label}** ${parts.join("; ")}.`);
  }
  lines.push("", figure.png ? `![gain over scratch vs budget](${figure.png}) (interactive: ${figure.file})` : `Gain over scratch vs budget: ${figure.file}.`, "");
  return lines;
}

/**
 * Where each folder's costs were measured. Wall times are comparable only between runs on the
 * same backend and an equally loaded machine; run.json records the first, not the second.
 */
function costCaveats(r: LeaderboardResult): string[] {
  const folders = [...new Set(r.spec.entries.filter((e) => e.kind !== "scratch").map((e) => e.from))].filter((f) => r.runs.has(f));
  if (!folders.length) return [];
  const lines = [`Pretraining cost: wall seconds per pretraining run, as each run recorded it (run.json): ${folders.map((f) => `results/${f} on ${r.runs.get(f)!.backends.join(" and ") || "an unrecorded backend"}`).join("; ")}.`];
  const distinct = new Set(folders.flatMap((f) => r.runs.get(f)!.backends));
  if (distinct.size > 1) lines.push(`**These folders were computed on different backends (${[...distinct].join("; ")}), so their costs are not comparable with each other**. Their Dice values are: the backends compute the same operations and differ only in floating-point rounding, which training amplifies into per-cell differences of the order of the noise between seeds, not into a bias.`);
  lines.push("A cost also depends on what else the machine was running, which run.json does not record.");
  return lines.flatMap((l, i) => (i ? ["", l] : [l]));
}

/** <name>-gain.html (+ .png): each pretext's gain over scratch by budget, asymmetric 95% CI bars. */
export function writeGainFigure(outDir: string, r: LeaderboardResult): { file: string; png?: string } {
  const traces = r.spec.entries
    .filter((e) => e.kind !== "scratch")
    .map((e) => {
      const pts = r.rows.filter((x) => x.entry === e && x.gain).sort((a, b) => a.budget - b.budget);
      return {
        type: "scatter",
        mode: "lines+markers",
        name: e.label,
        line: { dash: e.kind === "generic" ? "dot" : "solid" },
        x: pts.map((p) => p.budget),
        y: pts.map((p) => p.gain!.meanGain),
        error_y: { type: "data", symmetric: false, array: pts.map((p) => p.gain!.ciHigh - p.gain!.meanGain), arrayminus: pts.map((p) => p.gain!.meanGain - p.gain!.ciLow), visible: true },
      };
    });
  const title = `${r.spec.title}: gain in Dice over scratch (solid: anatomy-aware, dotted: generic)`;
  const layout = {
    title: { text: title },
    xaxis: { title: { text: "labelled training subjects" }, type: "log", tickvals: r.budgets },
    yaxis: { title: { text: "Dice gain over scratch (95% bootstrap CI)" }, zeroline: true },
    width: 900,
    height: 600,
    margin: { t: 70, b: 150 },
    legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top" },
  };
  ensurePlotlyAsset(outDir);
  const file = `${r.spec.name}-gain.html`;
  fs.writeFileSync(path.join(outDir, file), plotlyPageHtml(title, traces, layout));
  const png = `${r.spec.name}-gain.png`;
  return htmlToPng(path.join(outDir, file), path.join(outDir, png)) ? { file } : { file, png };
}

/** <name>-differences.csv: one row per anatomy-aware x generic pretext and budget. */
export function differencesCsv(r: LeaderboardResult): string {
  const head = "dataset,budget,anatomy_method,anatomy_from,generic_method,generic_from,difference,ci_low,ci_high,seeds,test_subjects,bootstrap_p,holm_p,wilcoxon_p";
  const lines = r.pairs.map((p) => [r.spec.name, p.budget, p.anatomy.method, p.anatomy.from, p.generic.method, p.generic.from, p.c.meanGain, p.c.ciLow, p.c.ciHigh, p.c.seeds, p.c.subjects, p.c.bootstrapP, p.holmP, p.c.pValue].join(","));
  return [head, ...lines].join("\n") + "\n";
}

/** <name>.csv: one row per pretext and budget. */
export function leaderboardCsv(r: LeaderboardResult): string {
  const head = "dataset,budget,rank,method,from,kind,dice_mean,dice_ci_low,dice_ci_high,seeds,gain,gain_ci_low,gain_ci_high,gain_p,pretrain_seconds,pretrain_runs,pretrain_source";
  const lines = r.rows.map((x) => [r.spec.name, x.budget, x.rank, x.entry.method, x.entry.from, x.entry.kind, x.dice.mean, x.dice.ciLow, x.dice.ciHigh, x.dice.n, x.gain?.meanGain ?? "", x.gain?.ciLow ?? "", x.gain?.ciHigh ?? "", x.gain?.pValue ?? "", x.pretrainSeconds ?? "", x.pretrainRuns, x.pretrainSource ?? ""].join(","));
  return [head, ...lines].join("\n") + "\n";
}
