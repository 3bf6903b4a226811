/**
 * `anatomy-ssl reproduce <paper>`: validate the settings, run the paper's protocol into its
 * results folder, and write tables, figures and README from the results store.
 *
 * - Rerunning resumes: finished cells are kept. A folder made with another configuration is
 *   never mixed with new cells: the run stops and says so.
 * - A run's folder: results/<paper> for the built-in data, results/<paper>-<loader> for --data,
 *   with -quick for --quick and -spot-check for the spot check (spot-check.ts); --out overrides. config.json is written with the first finished
 *   cell, so a run that fails before it leaves nothing that blocks the corrected rerun.
 * - --fresh deletes the folder's cells; on results committed to git it refuses unless
 *   --replace-committed says so explicitly.
 * - `renderOnly` (`anatomy-ssl report`) re-renders stored cells and refuses to train: a user
 *   who only wants the committed tables never starts hours of training by accident.
 * - Provenance: run.json keeps the invocations that computed cells, rewritten after every cell
 *   (marked interrupted until the run ends, so a killed run keeps its wall time); one that computed
 *   nothing (a re-render) is recorded apart and never changes the stated wall time or machine.
 * - A sharded run (shards.ts; `anatomy-ssl slurm` submits one): `--pretrain-only` and
 *   `--shard i/n` each write their own store under <folder>/shards/ with its own config.json
 *   and run.json, skip the cells the folder's store already holds, and write no report;
 *   `anatomy-ssl merge` (merge.ts) combines them and renders through `renderOnly`.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { packageVersions, projectRoot } from "../provenance.js";
import { applyOverrides } from "./config.js";
import { PROTOCOL_RULES, protocolChecks, runProtocol, type ComputedOn, type Paper, type ProtocolConfig, type RunSummary } from "./protocol.js";
import { findPaper, PAPERS } from "./registry.js";
import { readRunInfo, type Invocation, type Regeneration, type RunInfo } from "./report.js";
import { cellKey, pretrainKey, ResultsStore, type CellRecord } from "./results.js";
import { validateSettings } from "./settings.js";
import { listShardStores, pretrainingDir, shardCellKeys, shardDir, shardsDir, shardText, type Shard } from "./shards.js";
import { spotCheckConfig } from "./spot-check.js";
import { cacheRoot } from "./synthetic-cardiac.js";

export { PAPERS };

export interface ReproduceOptions {
  quick?: boolean;
  /** The spot check's few cells of the full grid, with their own pretraining (spot-check.ts). */
  spotCheck?: boolean;
  /** Only re-render the report from stored cells; fail, naming what is missing, if any cell is. */
  renderOnly?: boolean;
  dataDir?: string;
  outDir?: string;
  overrides?: string[];
  fresh?: boolean;
  /** Allow --fresh to delete results that are committed to git. */
  replaceCommitted?: boolean;
  /**
   * Run only this shard's cells (shards.ts) into <out>/shards/i-of-n/, taking every pretrained
   * weight from the cache; no report (`anatomy-ssl merge` writes it).
   */
  shard?: Shard;
  /** Only pretrain (or find in the cache) what the grid's missing cells need, recording it in <out>/shards/pretraining/. */
  pretrainOnly?: boolean;
  /** Render after `anatomy-ssl merge` wrote the store (merge.ts records it; not a regeneration). */
  merged?: boolean;
}

/** The validated configuration of a paper for these options (throws naming each bad setting). */
export function resolveConfig(paper: Paper, options: Pick<ReproduceOptions, "quick" | "spotCheck" | "overrides" | "dataDir">): ProtocolConfig {
  const where = `reproduce ${paper.name}`;
  if (options.quick && options.spotCheck) throw new Error(`${where}: --quick and the spot check are different runs; choose one`);
  const base = options.spotCheck ? spotCheckConfig(paper) : options.quick ? paper.quick : paper.full;
  const config = applyOverrides(base, options.overrides ?? []);
  validateSettings(where, config, { ...PROTOCOL_RULES, ...paper.rules }, [...protocolChecks, ...paper.checks] as ((c: never) => string[])[]);
  if (options.dataDir) {
    if (!fs.existsSync(options.dataDir) || !fs.statSync(options.dataDir).isDirectory()) throw new Error(`${where}: --data ${options.dataDir}: no such folder`);
    if (config.dataset !== "synthetic" && !paper.dataLoaders.includes(config.dataset)) throw new Error(`${where}: setting dataset = ${config.dataset}: --data needs one of ${paper.dataLoaders.join(", ")}`);
  }
  return config;
}

/** results/<paper>[-<loader>][-quick|-spot-check]. */
export function defaultOutDir(paper: Paper, config: ProtocolConfig, options: Pick<ReproduceOptions, "quick" | "spotCheck" | "dataDir">): string {
  const loader = options.dataDir ? `-${config.dataset === "synthetic" ? paper.dataLoaders[0] : config.dataset}` : "";
  return path.join(projectRoot(), "results", `${paper.name}${loader}${options.quick ? "-quick" : options.spotCheck ? "-spot-check" : ""}`);
}

/** The cells (and evaluated-only pretraining runs) of the grid that `store` lacks, as "method budget seed" texts. */
function missingCells(config: ProtocolConfig, store: ResultsStore): string[] {
  const { cells, pretrains } = store.load(() => {});
  const missing = config.seeds.flatMap((seed) => config.budgets.flatMap((budget) => config.methods.filter((method) => !cells.has(cellKey({ method, budget, seed }))).map((method) => `${method} budget ${budget} seed ${seed}`)));
  for (const seed of config.seeds) for (const pretext of config.pretrainOnly ?? []) if (!pretrains.has(pretrainKey({ pretext, seed }))) missing.push(`pretraining ${pretext} seed ${seed}`);
  return missing;
}

/** True when git tracks files under `dir` (committed results). */
function holdsCommittedFiles(dir: string): boolean {
  try {
    const out = execFileSync("git", ["ls-files", "--", dir], { cwd: projectRoot(), stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    return out.length > 0;
  } catch {
    return false;
  }
}

/** What config.json says about a run: any folder holding cells of the same grid has the same text. */
export function configText(paper: Paper, config: ProtocolConfig, options: Pick<ReproduceOptions, "quick" | "spotCheck" | "dataDir">): string {
  // spotCheck only when set, so folders made before it existed keep their configuration text.
  return JSON.stringify({ paper: paper.name, quick: Boolean(options.quick), ...(options.spotCheck ? { spotCheck: true } : {}), dataDir: options.dataDir ?? null, config }, null, 2) + "\n";
}

/** The arguments after `anatomy-ssl` that repeat this run's configuration (and folder) for `command`, plus `extra`. */
export function cliArgs(command: string, paper: Paper, options: Pick<ReproduceOptions, "quick" | "dataDir" | "outDir" | "overrides">, extra: string[] = []): string[] {
  return [command, paper.name, ...(options.quick ? ["--quick"] : []), ...(options.dataDir ? ["--data", options.dataDir] : []), ...(options.outDir ? ["--out", options.outDir] : []), ...(options.overrides ?? []).flatMap((o) => ["--set", o]), ...extra];
}

/** One word for a POSIX shell: quoted only when it needs to be. */
export const shellWord = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** The `anatomy-ssl <command> PAPER ...` line that repeats this run's configuration (and folder), plus `extra`. */
export function commandLine(command: string, paper: Paper, options: Pick<ReproduceOptions, "quick" | "dataDir" | "outDir" | "overrides">, extra: string[] = []): string {
  return ["anatomy-ssl", ...cliArgs(command, paper, options, extra)].map(shellWord).join(" ");
}

/** Refuse option combinations that a sharded run cannot honour, saying why. */
function checkShardedOptions(paper: Paper, options: ReproduceOptions): void {
  const what = options.shard ? `--shard ${shardText(options.shard)}` : "--pretrain-only";
  if (options.shard && options.pretrainOnly) throw new Error(`reproduce ${paper.name}: --shard and --pretrain-only are different jobs of a sharded run; run the pretraining first, then each shard`);
  if (options.fresh) throw new Error(`reproduce ${paper.name}: ${what} with --fresh: a sharded run never deletes results or cached weights (other tasks of it may be using them); to start over, use a new --out DIR (and a new ANATOMY_SSL_CACHE to retrain the pretexts too)`);
  if (options.spotCheck || options.renderOnly) throw new Error(`reproduce ${paper.name}: ${what} applies to \`reproduce\` only`);
}

export async function reproduce(paperName: string, options: ReproduceOptions = {}): Promise<{ outDir: string; files: string[]; cellsRun: number; pretrainRuns: number; pretrainCached: number }> {
  const paper = findPaper(paperName);
  const started = new Date();
  const overrides = options.overrides ?? [];
  const config = resolveConfig(paper, options);
  const outDir = path.resolve(options.outDir ?? defaultOutDir(paper, config, options));
  // A shard and the pretraining job each write their own store under the paper's folder.
  const sharded = options.shard !== undefined || Boolean(options.pretrainOnly);
  if (sharded) checkShardedOptions(paper, options);
  const storeDir = options.shard ? shardDir(outDir, options.shard) : options.pretrainOnly ? pretrainingDir(outDir) : outDir;
  const store = new ResultsStore(path.join(storeDir, "rows.jsonl"));
  const configFile = path.join(storeDir, "config.json");
  const runFile = path.join(storeDir, "run.json");
  const text = configText(paper, config, options);
  const mainStore = new ResultsStore(path.join(outDir, "rows.jsonl"));
  if (options.renderOnly) {
    if (options.fresh) throw new Error(`report ${paper.name}: --fresh would delete the cells a report is made from`);
    const missing = missingCells(config, store);
    if (missing.length > 0) {
      const shown = missing.slice(0, 5).join("; ") + (missing.length > 5 ? `; and ${missing.length - 5} more` : "");
      const shards = fs.existsSync(shardsDir(outDir)) ? `, or \`${commandLine("merge", paper, options)}\` if a sharded run computed them (${shardsDir(outDir)})` : "";
      throw new Error(`${outDir}: ${missing.length} cells are not computed (${shown}); \`report\` only re-renders stored cells: run \`anatomy-ssl reproduce ${paper.name}\` to compute them${shards}`);
    }
  }
  if (options.fresh) {
    if (fs.existsSync(outDir) && holdsCommittedFiles(outDir) && !options.replaceCommitted) {
      throw new Error(`${outDir} holds results committed to git; --fresh would delete them. Use --out DIR for a new folder, or add --replace-committed to recompute them in place.`);
    }
    for (const file of [store.file, configFile, runFile]) fs.rmSync(file, { force: true });
  } else if (fs.existsSync(configFile) && fs.readFileSync(configFile, "utf8") !== text) {
    throw new Error(`${configFile}: the results there were made with another configuration; use --out DIR for this one, or --fresh to replace them`);
  }
  const mainConfig = path.join(outDir, "config.json");
  if (sharded && fs.existsSync(mainConfig) && fs.readFileSync(mainConfig, "utf8") !== text) {
    throw new Error(`${mainConfig}: the paper's folder holds results of another configuration, which this ${options.shard ? "shard" : "pretraining job"} could never be merged with; use --out DIR for this one`);
  }
  if (!sharded && !options.renderOnly && !options.merged) refuseUnmergedShards(paper, options, outDir, mainStore);

  const previous = readRunInfo(runFile);
  // Read once: the installed versions do not change during a run.
  const installed = packageVersions();
  const invocations: Invocation[] = [...(previous?.invocations ?? [])];
  const regenerated: Regeneration[] = [...(previous?.regenerated ?? [])];
  const runInfo = (extra: Invocation[], cells: CellRecord[], packages: Record<string, string>, data: string): RunInfo => {
    const all = [...invocations, ...extra];
    return {
      paper: paper.name,
      quick: Boolean(options.quick),
      overrides,
      data,
      wallSeconds: all.reduce((t, i) => t + i.wallSeconds, 0),
      invocations: all,
      regenerated,
      ...(previous?.merges ? { merges: previous.merges } : {}),
      packages,
      config,
      cellSeconds: cells.map((c) => ({ method: c.method, budget: c.budget, seed: c.seed, seconds: Math.round(c.seconds * 10) / 10, steps: c.steps, bestStep: c.bestStep, finishedAt: c.finishedAt })),
    };
  };
  const invocation = (summary: RunSummary, computedOn: ComputedOn, interrupted: boolean): Invocation => {
    const now = new Date();
    const { seconds: _s, ...counts } = summary;
    return { started: started.toISOString(), finished: now.toISOString(), wallSeconds: (now.getTime() - started.getTime()) / 1000, ...computedOn, ...counts, ...(interrupted ? { interrupted } : {}) };
  };
  const recordedBefore = store.load(() => {}).pretrains.size;
  // A shard or the pretraining job skips what the paper's own store already holds (an earlier
  // single-process or merged run), so the merge never finds those cells twice.
  const main = sharded ? mainStore.load() : undefined;
  const { data, summary, computedOn } = await runProtocol(paper, config, store, {
    dataDir: options.dataDir,
    // One folder for every paper's pretrained weights: shared pretexts are trained once.
    // The spot check retrains its pretexts in its own folder: a cached run would check nothing.
    workDir: options.spotCheck ? path.join(outDir, "pretrained") : path.join(cacheRoot(), "pretrained"),
    fresh: options.fresh,
    share: options.shard ? shardCellKeys(config, options.shard) : undefined,
    doneElsewhere: main ? { cells: new Set(main.cells.keys()), pretrains: new Set(main.pretrains.keys()) } : undefined,
    pretraining: options.shard ? "cache-only" : options.pretrainOnly ? "only" : "train",
    pretrainCommand: commandLine("reproduce", paper, options, ["--pretrain-only"]),
    beforeFirstCell: () => {
      fs.mkdirSync(storeDir, { recursive: true });
      fs.writeFileSync(configFile, text);
    },
    // Recorded after every cell as interrupted, so a killed run keeps its wall time to its last cell.
    afterCell: (soFar, on, loaded) => {
      const info = runInfo([invocation(soFar, on, true)], [], installed, loaded.description);
      fs.writeFileSync(runFile, JSON.stringify({ ...info, cellSeconds: previous?.cellSeconds ?? [] }, null, 2) + "\n");
    },
  });
  const { rows, cells, pretrains } = store.load();
  if (sharded) {
    // No report: the merge writes it from every shard. run.json records what this job computed.
    const ran = summary.cellsRun > 0 || summary.pretrainRuns > 0 || pretrains.size > recordedBefore;
    if (ran) fs.writeFileSync(runFile, JSON.stringify(runInfo([invocation(summary, computedOn, false)], [...cells.values()], installed, data.description), null, 2) + "\n");
    const files = ran ? ["rows.jsonl", "config.json", "run.json"] : [];
    return { outDir: storeDir, files, cellsRun: summary.cellsRun, pretrainRuns: summary.pretrainRuns, pretrainCached: summary.pretrainCached };
  }
  if (cells.size === 0) throw new Error(`${outDir}: no finished cells`);
  const ran = summary.cellsRun > 0;
  // A merge's render is recorded by the merge (run.json `merges`), not as a regeneration.
  if (!ran && !options.merged) regenerated.push({ at: new Date().toISOString(), ...computedOn });
  const cellList = [...cells.values()];
  // Package versions of the run that computed the cells, not of a later re-render.
  const packages = ran || !previous?.packages ? installed : previous.packages;
  const info = runInfo(ran ? [invocation(summary, computedOn, false)] : [], cellList, packages, data.description);
  fs.writeFileSync(runFile, JSON.stringify(info, null, 2) + "\n");
  const command = [options.spotCheck ? "anatomy-ssl spot-check" : "anatomy-ssl reproduce", paper.name, options.quick ? "--quick" : "", options.dataDir ? `--data ${options.dataDir}` : "", ...overrides.map((o) => `--set ${o}`)].filter(Boolean).join(" ");
  const titleNote = options.quick
    ? " (QUICK MODE: a smoke test, not a result)"
    : options.spotCheck
      ? " (SPOT CHECK: a few cells of the full grid retrained on this machine; spot-check.md compares them with the committed run)"
      : "";
  const files = paper.writeReport({ outDir, command, config, data, rows, cells: cellList, pretrains: [...pretrains.values()], runInfo: info, quick: Boolean(options.quick), titleNote, notebook: paper.notebook });
  return { outDir, files: ["rows.jsonl", "config.json", "run.json", ...files], cellsRun: summary.cellsRun, pretrainRuns: summary.pretrainRuns, pretrainCached: summary.pretrainCached };
}

/**
 * A single-process run into a folder whose shards hold cells it lacks would compute them again,
 * and the merge would then find them twice: merge first (or delete shards/ to discard them).
 */
function refuseUnmergedShards(paper: Paper, options: ReproduceOptions, outDir: string, mainStore: ResultsStore): void {
  const { shards } = listShardStores(outDir);
  if (shards.length === 0) return;
  const merged = mainStore.load(() => {}).cells;
  const unmerged = shards.flatMap(({ dir }) => [...new ResultsStore(path.join(dir, "rows.jsonl")).load(() => {}).cells.keys()].filter((k) => !merged.has(k)));
  if (unmerged.length > 0) {
    throw new Error(`${shardsDir(outDir)}: shard stores hold ${unmerged.length} cells that ${mainStore.file} lacks; merge them first with \`${commandLine("merge", paper, options)}\` (or delete ${shardsDir(outDir)} to discard them), so no cell is computed twice`);
  }
}
