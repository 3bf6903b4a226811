/**
 * `anatomy-ssl merge <paper>`: combine the stores of a sharded run (shards.ts) into the paper's
 * store and write its report exactly as `reproduce` does.
 *
 * Refused, with the file and the reason, before anything is written:
 * - a store whose config.json differs from this merge's configuration (the differing settings
 *   are named);
 * - a shard cell computed by another code version than the merge's (computedOn.gitCommit).
 *   Versions compare as exact strings. A dirty checkout's version is "<commit>+dirty.<hash of
 *   its changes>" (provenance.ts), so shards run from one edited checkout merge, while shards
 *   run before and after an edit do not. A bare "+dirty" (recorded before the hash existed)
 *   cannot tell which changes and never matches, nor does an unknown version (no git where the
 *   cell was computed); a merge outside a git checkout refuses to start. Pretraining records
 *   are not checked: cached weights are keyed by settings, not code, in single-process runs too;
 * - duplicate cells: one cell in two shard stores, or in a shard store and the paper's store with
 *   other content (a cell already merged, byte for byte the same, is not a duplicate: merging
 *   twice is harmless);
 * - missing cells: in none of the stores (each named with its shard and the command that computes
 *   it), and missing pretraining records.
 *
 * Cells already in the paper's store are kept. The merged store is written in the grid's
 * canonical order (per seed: its pretraining records, then its cells by budget and method), the
 * order a single-process run writes, whichever shard finished first; it replaces the old store in
 * one rename, so an interrupted merge loses nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gitCommit, machineLabel, packageVersions } from "../provenance.js";
import { writeFileAtomic } from "../train/checkpoint.js";
import type { Paper, ProtocolConfig } from "./protocol.js";
import { findPaper } from "./registry.js";
import { readRunInfo, type Invocation, type RunInfo } from "./report.js";
import { commandLine, configText, defaultOutDir, reproduce, resolveConfig, type ReproduceOptions } from "./reproduce.js";
import { cellKey, pretrainKey, ResultsStore, type CellRecord, type PretrainRecord, type ResultRow } from "./results.js";
import { gridCells, listShardStores, shardOfCell, shardsDir, shardText, type Shard } from "./shards.js";
import { differingLeaves } from "./settings-diff.js";

export type MergeOptions = Pick<ReproduceOptions, "quick" | "dataDir" | "outDir" | "overrides">;

interface StoredCell {
  file: string;
  cell: CellRecord;
  rows: ResultRow[];
}

interface LoadedStore {
  dir: string;
  file: string;
  shard?: Shard;
  cells: StoredCell[];
  pretrains: PretrainRecord[];
}

const cellText = (c: { method: string; budget: number; seed: number }) => `${c.method} budget ${c.budget} seed ${c.seed}`;

/** The settings two config.json texts disagree on, as "key: A there, B here". */
export function differingSettings(there: string, here: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(there);
  } catch {
    return ["(not valid JSON)"];
  }
  // "config." is where every protocol setting lives: name them as --set does.
  return differingLeaves(parsed, JSON.parse(here)).map((d) => `${d.key.replace(/^config\./, "")}: ${d.there ?? "absent"} there, ${d.here ?? "absent"} here`);
}

/** One store's complete cells with their rows, and its pretraining records (incomplete tails are reported by load). */
function loadStore(dir: string, shard?: Shard): LoadedStore {
  const file = path.join(dir, "rows.jsonl");
  const { cells, rows, pretrains } = new ResultsStore(file).load((m) => console.error(`merge: ${m}`));
  const byCell = new Map<string, ResultRow[]>();
  for (const r of rows) (byCell.get(cellKey(r)) ?? byCell.set(cellKey(r), []).get(cellKey(r))!).push(r);
  return { dir, file, shard, cells: [...cells.values()].map((cell) => ({ file, cell, rows: byCell.get(cellKey(cell)) ?? [] })), pretrains: [...pretrains.values()] };
}

/** Refuse a store folder made with another configuration (or one whose configuration is unknown). */
function checkConfig(dir: string, text: string): void {
  const file = path.join(dir, "config.json");
  if (!fs.existsSync(file)) {
    if (fs.existsSync(path.join(dir, "rows.jsonl"))) throw new Error(`${dir}: rows.jsonl without config.json, so the configuration its cells were made with is unknown; refusing to merge it`);
    return;
  }
  const there = fs.readFileSync(file, "utf8");
  if (there !== text) {
    const diff = differingSettings(there, text);
    throw new Error(`${file}: made with another configuration than this merge's (${diff.slice(0, 8).join("; ")}${diff.length > 8 ? `; and ${diff.length - 8} more` : ""}); refusing to merge it. Merge with the same --quick/--data/--set options the shards ran with, or move that store out of ${path.dirname(dir)}`);
  }
}

const sameCell = (a: StoredCell, b: StoredCell) => JSON.stringify([a.cell, a.rows]) === JSON.stringify([b.cell, b.rows]);

export async function merge(paperName: string, options: MergeOptions = {}): Promise<{ outDir: string; files: string[]; fromShards: number; kept: number; stores: string[] }> {
  const paper = findPaper(paperName);
  const config = resolveConfig(paper, options);
  const outDir = path.resolve(options.outDir ?? defaultOutDir(paper, config, options));
  const text = configText(paper, config, options);
  const where = `merge ${paper.name}`;

  // 1. Every store must hold this configuration.
  checkConfig(outDir, text);
  const found = listShardStores(outDir);
  const counts = [...new Set(found.shards.map((s) => s.shard.count))];
  if (counts.length > 1) throw new Error(`${shardsDir(outDir)}: holds shard stores of ${counts.join(" and ")} shards (${found.shards.map((s) => path.basename(s.dir)).join(", ")}); one sharded run splits the grid one way: move the stores of the other split out of it`);
  for (const dir of [found.pretraining, ...found.shards.map((s) => s.dir)]) if (dir) checkConfig(dir, text);
  const main = loadStore(outDir);
  const pretraining = found.pretraining ? loadStore(found.pretraining) : undefined;
  const shards = found.shards.map((s) => loadStore(s.dir, s.shard));
  if (shards.length === 0 && !pretraining && main.cells.length === 0) {
    throw new Error(`${where}: nothing to merge in ${outDir}: no shard stores under ${shardsDir(outDir)} and no cells in ${main.file}; run the shards first (\`${commandLine("reproduce", paper, options, ["--shard", "0/N"])}\` for each shard, or \`anatomy-ssl slurm ${paper.name}\`)`);
  }

  // 2. Every shard cell must come from the code this merge runs.
  const version = gitCommit();
  if (!/^[0-9a-f]{40}(\+dirty\.[0-9a-f]{12})?$/.test(version)) {
    throw new Error(`${where}: this checkout's code version is "${version}", which cannot be compared with the shards' (a git checkout is needed: the version is its commit and a hash of its changes)`);
  }
  const foreign = shards.flatMap((s) => {
    const other = [...new Set(s.cells.map((c) => c.cell.computedOn?.gitCommit ?? "unknown").filter((v) => v !== version))];
    return other.length > 0 ? [`${s.file}: ${s.cells.filter((c) => (c.cell.computedOn?.gitCommit ?? "unknown") !== version).length} cells computed by code ${other.join(", ")}`] : [];
  });
  if (foreign.length > 0) {
    throw new Error(`${where}: shard cells computed by another code version than this merge's (${version}):\n  ${foreign.join("\n  ")}\nA table mixes cells of one code version only: rerun those shards with this checkout (delete their folders first), or merge with the checkout that computed them.`);
  }

  // 3. Every cell once.
  const byKey = new Map<string, StoredCell>(main.cells.map((c) => [cellKey(c.cell), c]));
  const fromShard = new Map<string, string>();
  const duplicates: string[] = [];
  let fromShards = 0;
  for (const s of shards) {
    for (const c of s.cells) {
      const key = cellKey(c.cell);
      const earlier = byKey.get(key);
      if (fromShard.has(key)) duplicates.push(`${cellText(c.cell)}: in ${fromShard.get(key)} and in ${s.file}`);
      else if (earlier && !sameCell(earlier, c)) duplicates.push(`${cellText(c.cell)}: in ${earlier.file} and, with other results, in ${s.file}`);
      else {
        fromShard.set(key, s.file);
        if (!earlier) fromShards++;
        byKey.set(key, c);
      }
    }
  }
  const grid = gridCells(config);
  const inGrid = new Set(grid.map(cellKey));
  const outside = [...byKey.values()].filter((c) => !inGrid.has(cellKey(c.cell))).map((c) => `${cellText(c.cell)} (${c.file})`);
  const count = counts[0];
  const absent = grid.map((c, k) => ({ c, k })).filter(({ c }) => !byKey.has(cellKey(c)));
  const missing = absent.map(({ c, k }) => `${cellText(c)} (${count ? `shard ${shardText({ index: shardOfCell(k, count), count })}` : "no shard stores"})`);
  const rerun = count ? [...new Set(absent.map(({ k }) => shardOfCell(k, count)))].map((index) => `rerun: \`${commandLine("reproduce", paper, options, ["--shard", shardText({ index, count })])}\``) : [];

  // 4. The pretraining record of every pretext x seed the grid uses.
  const pretrains = new Map<string, PretrainRecord>();
  for (const p of [...main.pretrains, ...(pretraining?.pretrains ?? []), ...shards.flatMap((s) => s.pretrains)]) if (!pretrains.has(pretrainKey(p))) pretrains.set(pretrainKey(p), p);
  const pretextOrder = pretextsInOrder(paper, config);
  const missingPretrains = config.seeds.flatMap((seed) => pretextOrder.filter((pretext) => !pretrains.has(pretrainKey({ pretext, seed }))).map((pretext) => `pretraining ${pretext} seed ${seed}`));

  const problems = [
    ...(duplicates.length ? [`${duplicates.length} duplicate cells (one cell must come from one store):`, ...duplicates.map((d) => `  ${d}`)] : []),
    ...(missing.length ? [`${missing.length} missing cells (in no store; rerun their shards, then merge again):`, ...missing.map((m) => `  ${m}`), ...rerun.map((r) => `  ${r}`)] : []),
    ...(missingPretrains.length ? [`${missingPretrains.length} missing pretraining records (the pretraining job \`${commandLine("reproduce", paper, options, ["--pretrain-only"])}\` writes them to ${path.join(shardsDir(outDir), "pretraining")}):`, ...missingPretrains.map((m) => `  ${m}`)] : []),
    ...(outside.length ? [`${outside.length} cells outside this configuration's grid:`, ...outside.map((o) => `  ${o}`)] : []),
  ];
  if (problems.length > 0) throw new Error(`${where}: cannot merge into ${outDir}; nothing was written:\n${problems.join("\n")}`);

  // 5. The merged store in canonical order, replacing the old one in one rename.
  const lines: string[] = [];
  const written = new Set<string>();
  for (const seed of config.seeds) {
    const seedPretrains = [...pretrains.values()].filter((p) => p.seed === seed).sort((a, b) => rank(pretextOrder, a.pretext) - rank(pretextOrder, b.pretext) || a.pretext.localeCompare(b.pretext));
    for (const p of seedPretrains) {
      lines.push(JSON.stringify({ type: "pretrain", ...p }));
      written.add(pretrainKey(p));
    }
    for (const c of grid.filter((g) => g.seed === seed)) {
      const stored = byKey.get(cellKey(c))!;
      for (const r of stored.rows) lines.push(JSON.stringify({ type: "row", ...r }));
      lines.push(JSON.stringify({ type: "cell", ...stored.cell }));
    }
  }
  const strays = [...pretrains.keys()].filter((k) => !written.has(k));
  if (strays.length > 0) throw new Error(`${where}: pretraining records of seeds outside this configuration (${strays.join(", ")}); nothing was written`);
  writeFileAtomic(main.file, lines.join("\n") + "\n");
  writeFileAtomic(path.join(outDir, "config.json"), text);

  // 6. run.json: every job's invocations, and this merge.
  const stores = [...(pretraining ? [pretraining] : []), ...shards].map((s) => path.relative(outDir, s.file));
  writeFileAtomic(path.join(outDir, "run.json"), JSON.stringify(mergedRunInfo(outDir, [pretraining, ...shards].filter((s): s is LoadedStore => s !== undefined), stores, version), null, 2) + "\n");

  // 7. The report, exactly as `reproduce` writes it from a complete store.
  const { files } = await reproduce(paper.name, { ...options, renderOnly: true, merged: true });
  return { outDir, files, fromShards, kept: main.cells.length, stores };
}

/** The pretexts each seed pretrains, in the order a single-process run records them. */
function pretextsInOrder(paper: Paper, config: ProtocolConfig): string[] {
  const fromMethods = config.methods.map((name) => paper.methods.find((m) => m.name === name)?.pretext).filter((p): p is string => p !== undefined);
  return [...new Set([...fromMethods, ...(config.pretrainOnly ?? [])])];
}

const rank = (order: string[], name: string) => (order.includes(name) ? order.indexOf(name) : order.length);

/**
 * The paper's run.json after a merge: its earlier invocations and those of the pretraining job and
 * every shard (each once, however often the merge runs), and the merges. The report recomputes
 * the cell times from the store.
 */
function mergedRunInfo(outDir: string, parts: LoadedStore[], stores: string[], version: string): Partial<RunInfo> {
  const read = (dir: string) => readRunInfo(path.join(dir, "run.json"));
  const previous = read(outDir);
  const runs = parts.map((p) => read(p.dir)).filter((r): r is Partial<RunInfo> => r !== undefined);
  const seen = new Set<string>();
  const invocations: Invocation[] = [];
  for (const i of [...(previous?.invocations ?? []), ...runs.flatMap((r) => r.invocations ?? [])]) {
    if (seen.has(JSON.stringify(i))) continue;
    seen.add(JSON.stringify(i));
    invocations.push(i);
  }
  invocations.sort((a, b) => a.started.localeCompare(b.started));
  const first = runs.find((r) => r.packages);
  return {
    ...previous,
    wallSeconds: invocations.reduce((t, i) => t + i.wallSeconds, 0),
    invocations,
    regenerated: previous?.regenerated ?? [],
    merges: [...(previous?.merges ?? []), { at: new Date().toISOString(), gitCommit: version, machine: machineLabel(), stores }],
    // The versions the cells were computed with (the paper's earlier run's, else the first job's).
    packages: previous?.packages ?? first?.packages ?? packageVersions(),
    cellSeconds: [],
  };
}
