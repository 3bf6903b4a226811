#!/usr/bin/env node
/**
 * The `anatomy-ssl` command. Subcommands are thin: they parse arguments and call the library.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describeBackend, initBackend } from "./backend/index.js";
import { formatSummary, summarizeVolume } from "./io/summary.js";
import type { Volume } from "./io/volume.js";
import { parseShard, shardText, type Shard } from "./experiments/shards.js";
import { gitCommit, machineInfo, packageVersions, projectRoot } from "./provenance.js";

const usage = (papers: string) => `usage: anatomy-ssl <command> [options]

commands:
  info [PATH ...]   backend, package versions, machine; a summary of each NIfTI file or DICOM
                    folder given (default: a seeded demo volume made by the library)
  spot-check PAPER|all [--fresh] [--set KEY=VALUE ...] [--out DIR] [--against DIR]
                    the README's first command: retrain a few key cells of each paper's full
                    grid on this machine (its own pretraining, first seed, one budget), write
                    results/PAPER-spot-check/ and compare every cell with the committed run and
                    with the paper (spot-check.md there). Rerunning resumes; --fresh retrains.
                    --against: compare with another run's folder; exits 1 when a key cell lies
                    outside the committed cell's 95% CI.
  reproduce PAPER|all|baselines [--quick] [--data DIR] [--out DIR] [--set KEY=VALUE ...] [--fresh]
                    [--shard I/N | --pretrain-only]
                    run a paper's protocol and write results/PAPER/ (papers: ${papers}).
                    baselines: the generic SSL pretexts on each paper's data (results/baselines-*),
                    then results/leaderboard/ from every stored row.
                    --quick: a few-minute smoke run into results/PAPER-quick/. --data: a real
                    dataset folder (e.g. M&Ms-2 layout) instead of the built-in phantoms,
                    written to results/PAPER-LOADER/. --set: override any protocol setting
                    (e.g. --set finetune.maxSteps=300 --set budgets=1,5); every setting is
                    checked before anything runs. Rerunning resumes; --fresh discards earlier
                    cells (on committed results only with --replace-committed). \`reproduce all\`
                    then renders the notebooks (skip with --no-notebooks).
                    A sharded run (e.g. on a cluster): --pretrain-only trains (or finds in
                    the cache) every pretraining the grid needs; then --shard I/N runs cells
                    k with k mod N = I into results/PAPER/shards/I-of-N/ (never pretraining:
                    a missing pretrained weight is an error); then \`merge\`.
  merge PAPER|all [--quick] [--data DIR] [--out DIR] [--set KEY=VALUE ...]
                    combine the shard stores of results/PAPER/shards/ into results/PAPER/ and
                    write its report as \`reproduce\` does; refuses stores of another
                    configuration or code version and names missing or duplicate cells
  slurm PAPER|all [--array-size N] [--partition P] [--time T] [--cpus C] [--quick] [--data DIR]
                  [--out DIR] [--set KEY=VALUE ...] [--dry-run | --submit]
                    write Slurm jobs to results/PAPER/slurm/: pretraining, an array of N
                    shards after it, a merge after them, and submit.sh chaining them
                    (afterok). --dry-run prints them; --submit also runs submit.sh.
                    The jobs use this checkout's node and dist/ and ANATOMY_SSL_CACHE.
  report PAPER|all|baselines
                    re-render tables, figures and README from the stored cells of results/PAPER/
                    (baselines: the baseline runs and results/leaderboard/); trains nothing and
                    fails, naming them, if cells are missing
  notebooks render [NAME ...] [--mode full|small] [--out DIR]
                    execute notebooks in real Jupyter and write self-contained HTML to
                    results/notebooks/ (default: every notebook, full mode)
  data list         the real datasets described in data-manifests/ (source, license, size)
  data verify DATASET DIR [--all]
                    check a local copy of a dataset: missing files, checksums, layout
  help              this text

environment:
  ANATOMY_SSL_BACKEND=node-gpu|node|wasm|cpu   force a tfjs backend (default: best available)
  ANATOMY_SSL_WASM_THREADS=N                   threads for the wasm backend
  ANATOMY_SSL_CACHE=DIR                        synthetic data and pretrained weights (default .cache/)`;

async function usageText(): Promise<string> {
  const { PAPERS } = await import("./experiments/registry.js");
  return usage(PAPERS.map((p) => p.name).join(", "));
}

async function loadAny(p: string): Promise<Volume> {
  if (!fs.existsSync(p)) throw new Error(`${p}: no such file or folder`);
  if (fs.statSync(p).isDirectory()) {
    const { readDicomFolder } = await import("./io/dicom.js");
    return readDicomFolder(p);
  }
  const { readNifti } = await import("./io/nifti.js");
  return readNifti(p);
}

async function info(paths: string[]): Promise<void> {
  const pkg = JSON.parse(fs.readFileSync(`${projectRoot()}/package.json`, "utf8")) as { version: string };
  const backend = await initBackend({ quiet: true });
  const m = machineInfo();
  console.log(`anatomy-ssl ${pkg.version} (git ${gitCommit()})`);
  console.log(`backend: ${describeBackend(backend)}`);
  for (const why of backend.skipped) console.log(`  not used: ${why}`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}`);
  console.log("packages:");
  for (const [name, version] of Object.entries(packageVersions())) console.log(`  ${name} ${version}`);
  const volumes: Volume[] = [];
  if (paths.length === 0) {
    const { demoVolume } = await import("./phantoms/demo.js");
    const demo = demoVolume();
    volumes.push(demo.image, demo.labels);
  } else {
    for (const p of paths) volumes.push(await loadAny(p));
  }
  for (const v of volumes) console.log(formatSummary(summarizeVolume(v)));
}

function paperList(PAPERS: readonly { name: string }[], paper: string | undefined, command: string): string[] {
  if (!paper || paper.startsWith("-")) throw new Error(`${command}: name a paper (${PAPERS.map((p) => p.name).join(", ")}) or all`);
  return paper === "all" ? PAPERS.map((p) => p.name) : [paper];
}

async function spotCheckCommand(args: string[]): Promise<number> {
  const [paper, ...rest] = args;
  const { PAPERS } = await import("./experiments/registry.js");
  const names = paperList(PAPERS, paper, "spot-check");
  const options: { fresh: boolean; overrides: string[]; outDir?: string; against?: string } = { fresh: false, overrides: [] };
  for (let i = 0; i < rest.length; i++) {
    const value = () => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`spot-check: ${rest[i - 1]} needs a value`);
      return v;
    };
    if (rest[i] === "--fresh") options.fresh = true;
    else if (rest[i] === "--set") options.overrides.push(value());
    else if (rest[i] === "--out") options.outDir = value();
    else if (rest[i] === "--against") options.against = value();
    else throw new Error(`spot-check: unknown option ${rest[i]}`);
  }
  if (names.length > 1 && (options.outDir || options.against)) throw new Error("spot-check all: --out and --against name one paper's folders; check one paper at a time");
  const { runSpotChecks } = await import("./experiments/spot-check-run.js");
  const { formatDuration } = await import("./train/progress.js");
  const started = performance.now();
  const runs = await runSpotChecks(names, options);
  console.log(`\n== spot check done in ${formatDuration((performance.now() - started) / 1000)}`);
  for (const r of runs) console.log(`   ${r.verdict}`);
  console.log("   Each folder's spot-check.md has the table; the committed full runs are in results/PAPER/.");
  // Outside the committed CI is a finding about this machine (backend, library versions): fail so scripts notice.
  return runs.some((r) => r.differs) ? 1 : 0;
}

async function reportCommand(args: string[]): Promise<number> {
  const [paper, ...rest] = args;
  const { PAPERS } = await import("./experiments/registry.js");
  if (rest.length > 0) throw new Error(`report: unknown option ${rest[0]}`);
  const { reproduce } = await import("./experiments/reproduce.js");
  if (paper === "baselines") {
    const { BASELINE_RUNS, writeLeaderboards } = await import("./experiments/leaderboards.js");
    for (const p of BASELINE_RUNS) {
      const { outDir } = await reproduce(p, { renderOnly: true });
      console.log(`re-rendered ${outDir} from its stored cells (nothing trained)`);
    }
    console.log(`wrote ${writeLeaderboards().outDir} from the stored cells`);
    return 0;
  }
  for (const p of paperList(PAPERS, paper, "report")) {
    const { outDir, files } = await reproduce(p, { renderOnly: true });
    console.log(`re-rendered ${outDir} from its stored cells (nothing trained): ${files.join(", ")}`);
  }
  return 0;
}

async function notebooksCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "render") throw new Error(`notebooks: unknown subcommand ${sub ?? "(none)"}; try \`notebooks render\``);
  const names: string[] = [];
  let mode: "full" | "small" = "full";
  let outDir: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--mode") {
      const v = rest[++i];
      if (v !== "full" && v !== "small") throw new Error(`notebooks render: --mode must be full or small, got ${v ?? "(nothing)"}`);
      mode = v;
    } else if (rest[i] === "--out") {
      outDir = rest[++i];
      if (!outDir) throw new Error("notebooks render: --out needs a folder");
    } else if (rest[i].startsWith("-")) throw new Error(`notebooks render: unknown option ${rest[i]}`);
    else names.push(rest[i]);
  }
  const { renderNotebooks } = await import("./notebook/render.js");
  await renderNotebooks({ names, mode, outDir });
  return 0;
}

async function reproduceCommand(args: string[]): Promise<number> {
  const [paper, ...rest] = args;
  const { PAPERS } = await import("./experiments/registry.js");
  if (!paper || paper.startsWith("-")) throw new Error(`reproduce: name a paper (${PAPERS.map((p) => p.name).join(", ")}) or all`);
  const extra: { fresh: boolean; replaceCommitted: boolean; shard?: Shard; pretrainOnly?: boolean } = { fresh: false, replaceCommitted: false };
  let notebooks = true;
  const run = parseRunOptions("reproduce", rest, {
    "--fresh": () => (extra.fresh = true),
    "--replace-committed": () => (extra.replaceCommitted = true),
    "--no-notebooks": () => (notebooks = false),
    "--shard": (value) => (extra.shard = parseShard(value())),
    "--pretrain-only": () => (extra.pretrainOnly = true),
  });
  const options = { ...run, ...extra };
  const { reproduce } = await import("./experiments/reproduce.js");
  if (options.shard || options.pretrainOnly) {
    // One paper's part of a sharded run: no report (the merge writes it), no notebooks.
    if (paper === "all" || paper === "baselines") throw new Error(`reproduce ${paper}: --shard and --pretrain-only split one paper's grid; name the paper`);
    const { outDir, files, cellsRun, pretrainRuns, pretrainCached } = await reproduce(paper, options);
    const job = options.shard ? `shard ${shardText(options.shard)}` : "pretraining";
    if (files.length === 0) console.log(`${paper} ${job}: nothing to do (every ${options.shard ? "cell of this shard" : "pretraining the missing cells need"} is already done or recorded)`);
    else console.log(`${paper} ${job}: ${options.shard ? `${cellsRun} cells computed` : `${pretrainRuns} pretraining runs trained, ${pretrainCached} found in the cache`}; wrote ${outDir}: ${files.join(", ")}`);
    return 0;
  }
  if ((paper === "all" || paper === "baselines") && (options.dataDir || options.outDir)) throw new Error(`reproduce ${paper}: --data and --out name one paper's data and folder; run one paper at a time`);
  if (paper === "baselines") {
    // The generic baselines' missing cells, then the leaderboards from every store of each dataset.
    const { BASELINE_RUNS, writeLeaderboards } = await import("./experiments/leaderboards.js");
    for (const p of BASELINE_RUNS) {
      const { outDir, files } = await reproduce(p, options);
      console.log(`wrote ${outDir}: ${files.join(", ")}`);
    }
    if (options.quick) return 0; // quick runs do not match the committed papers' grids
    const { outDir, files } = writeLeaderboards();
    console.log(`wrote ${outDir}: ${files.join(", ")}`);
    return 0;
  }
  for (const p of paper === "all" ? PAPERS.map((x) => x.name) : [paper]) {
    const { outDir, files, cellsRun } = await reproduce(p, options);
    console.log(`wrote ${outDir}: ${files.join(", ")}`);
    // Say so plainly: re-rendered committed rows are not a reproduction on this machine.
    if (cellsRun === 0) console.log(`${p}: every cell was already in ${outDir}, so nothing was trained; the report was re-rendered from the stored cells. To retrain on this machine: \`npm run reproduce\` (a spot check of key cells) or \`anatomy-ssl reproduce ${p} --fresh --replace-committed\` (everything).`);
  }
  // The notebooks read the committed results: render them after the papers, in full mode.
  if (paper === "all" && !options.quick && notebooks) {
    const { renderNotebooks } = await import("./notebook/render.js");
    await renderNotebooks();
  }
  return 0;
}

/** Options shared by reproduce, merge and slurm that decide the configuration and its folder. */
function parseRunOptions(command: string, rest: string[], also: Record<string, (value: () => string) => void> = {}): { quick: boolean; dataDir?: string; outDir?: string; overrides: string[] } {
  const options: { quick: boolean; dataDir?: string; outDir?: string; overrides: string[] } = { quick: false, overrides: [] };
  for (let i = 0; i < rest.length; i++) {
    const value = () => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${command}: ${rest[i - 1]} needs a value`);
      return v;
    };
    const arg = rest[i];
    if (arg === "--quick") options.quick = true;
    else if (arg === "--data") options.dataDir = value();
    else if (arg === "--out") options.outDir = value();
    else if (arg === "--set") options.overrides.push(value());
    else if (also[arg]) also[arg](value);
    else throw new Error(`${command}: unknown option ${arg}`);
  }
  return options;
}

async function mergeCommand(args: string[]): Promise<number> {
  const [paper, ...rest] = args;
  const { PAPERS } = await import("./experiments/registry.js");
  const names = paperList(PAPERS, paper, "merge");
  const options = parseRunOptions("merge", rest);
  if (names.length > 1 && (options.dataDir || options.outDir)) throw new Error("merge all: --data and --out name one paper's data and folder; merge one paper at a time");
  const { merge } = await import("./experiments/merge.js");
  for (const p of names) {
    const { outDir, files, fromShards, kept, stores } = await merge(p, options);
    console.log(`${p}: merged ${fromShards} cells from ${stores.length} stores (${stores.join(", ") || "none"}), kept ${kept} already in the store; wrote ${outDir}: ${files.join(", ")}`);
  }
  return 0;
}

async function slurmCommand(args: string[]): Promise<number> {
  const [paper, ...rest] = args;
  const { PAPERS } = await import("./experiments/registry.js");
  const names = paperList(PAPERS, paper, "slurm");
  const flags = { dryRun: false, submit: false };
  const scheduling: { arraySize?: number; partition?: string; time?: string; cpus?: number } = {};
  const whole = (flag: string, v: string) => {
    if (!/^\d+$/.test(v)) throw new Error(`slurm: ${flag} ${v}: expected a whole number`);
    return Number(v);
  };
  const options = parseRunOptions("slurm", rest, {
    "--array-size": (v) => (scheduling.arraySize = whole("--array-size", v())),
    "--partition": (v) => (scheduling.partition = v()),
    "--time": (v) => (scheduling.time = v()),
    "--cpus": (v) => (scheduling.cpus = whole("--cpus", v())),
    "--dry-run": () => (flags.dryRun = true),
    "--submit": () => (flags.submit = true),
  });
  if (flags.dryRun && flags.submit) throw new Error("slurm: --dry-run prints the jobs and --submit submits them; choose one");
  const mode = flags.dryRun ? "dry-run" : flags.submit ? "submit" : "write";
  if (names.length > 1 && (options.dataDir || options.outDir)) throw new Error("slurm all: --data and --out name one paper's data and folder; write one paper's jobs at a time");
  const { slurmJobs, submitAllScript, submitSlurmJobs, writeSlurmJobs } = await import("./experiments/slurm.js");
  // Every paper's settings are checked before anything is written or submitted.
  const all = names.map((p) => slurmJobs(p, { ...options, ...scheduling }));
  const together = all.length > 1 ? submitAllScript(all) : undefined;
  if (mode === "dry-run") {
    for (const jobs of all) for (const s of jobs.scripts) console.log(`==> ${path.join(jobs.dir, s.name)} <==\n${s.text}`);
    if (together) console.log(`==> ${together.file} <==\n${together.text}`);
    return 0;
  }
  let previous: string | undefined;
  for (const jobs of all) {
    const files = writeSlurmJobs(jobs);
    console.log(`${jobs.paper}: wrote ${files.join(", ")}`);
    if (mode !== "submit") continue;
    // Each paper's pretraining after the previous paper's: they share cached pretexts (slurm.ts).
    const submitted = submitSlurmJobs(jobs, previous);
    console.log(submitted);
    previous = /\bpretrain=(\d+)/.exec(submitted)?.[1];
  }
  if (together) fs.writeFileSync(together.file, together.text, { mode: 0o755 });
  if (mode !== "submit") console.log(`submit with \`bash ${together?.file ?? path.join(all[0].dir, "submit.sh")}\` (or rerun with --submit)`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "info":
      await info(rest);
      return 0;
    case "data":
      return (await import("./datasets/command.js")).dataCommand(rest);
    case "reproduce":
      return reproduceCommand(rest);
    case "spot-check":
      return spotCheckCommand(rest);
    case "report":
      return reportCommand(rest);
    case "merge":
      return mergeCommand(rest);
    case "slurm":
      return slurmCommand(rest);
    case "notebooks":
      return notebooksCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(await usageText());
      return command === undefined ? 1 : 0;
    default:
      console.error(`anatomy-ssl: unknown command '${command}'\n\n${await usageText()}`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`anatomy-ssl: ${e.message}`);
      process.exit(1);
    },
  );
}
