/**
 * `anatomy-ssl slurm <paper|all>`: a paper's grid as Slurm jobs, written to <paper folder>/slurm/:
 *
 *   pretrain.sbatch   `reproduce PAPER --pretrain-only`: every pretext x seed the grid needs, into
 *                     the shared cache (shards never pretrain: see protocol.ts, "cache-only");
 *   shards.sbatch     an array job, task i running `reproduce PAPER --shard i/N`, each into its
 *                     own store; a task rerun resumes (skips its finished cells);
 *   merge.sbatch      `merge PAPER`: the shard stores into the paper's store and its report;
 *   submit.sh         submits the three with `sbatch --parsable`, chained by
 *                     --dependency=afterok (array after pretraining, merge after the whole array).
 *
 * Every script cds to this checkout and runs its node and dist/ by absolute path, so a node runs
 * exactly the code that generated the scripts (the checkout must be on a filesystem the nodes
 * see, with dist/ built and node_modules installed). ANATOMY_SSL_CACHE is written into each
 * script, resolved when the scripts are generated, so every task uses one pretraining cache.
 * Each job logs to <paper folder>/slurm/logs/.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../provenance.js";
import { findPaper } from "./registry.js";
import { cliArgs, configText, defaultOutDir, resolveConfig, shellWord, type ReproduceOptions } from "./reproduce.js";
import { gridCells } from "./shards.js";
import { cacheRoot } from "./synthetic-cardiac.js";

export interface SlurmOptions extends Pick<ReproduceOptions, "quick" | "dataDir" | "outDir" | "overrides"> {
  /** Array tasks (shards); default: 8, or the number of cells when the grid is smaller. */
  arraySize?: number;
  partition?: string;
  /** Slurm's time limit per job (e.g. 4:00:00 or 1-00:00:00). */
  time?: string;
  /** CPUs per task (--cpus-per-task). */
  cpus?: number;
}

export interface SlurmJobs {
  paper: string;
  /** The paper's results folder (what `merge` writes). */
  outDir: string;
  /** Where the scripts are written: <outDir>/slurm. */
  dir: string;
  logDir: string;
  arraySize: number;
  scripts: { name: string; text: string }[];
}

const DEFAULT_ARRAY_SIZE = 8;

function checkOptions(o: SlurmOptions): void {
  if (o.arraySize !== undefined && (!Number.isInteger(o.arraySize) || o.arraySize < 1)) throw new Error(`slurm: --array-size ${o.arraySize}: must be a whole number of tasks, at least 1`);
  if (o.cpus !== undefined && (!Number.isInteger(o.cpus) || o.cpus < 1)) throw new Error(`slurm: --cpus ${o.cpus}: must be a whole number of CPUs, at least 1`);
  if (o.time !== undefined && !/^(\d+-)?\d+(:\d+){0,2}$/.test(o.time)) throw new Error(`slurm: --time ${o.time}: not a Slurm time limit (minutes, H:MM:SS, or D-HH:MM:SS)`);
  if (o.partition !== undefined && !/^[\w.,-]+$/.test(o.partition)) throw new Error(`slurm: --partition ${o.partition}: not a partition name`);
}

/** The four scripts of one paper (nothing written). */
export function slurmJobs(paperName: string, options: SlurmOptions): SlurmJobs {
  checkOptions(options);
  const paper = findPaper(paperName);
  // Settings are checked here, not when a job starts hours later in the queue.
  const config = resolveConfig(paper, options);
  const cells = gridCells(config).length;
  if (options.arraySize !== undefined && options.arraySize > cells) throw new Error(`slurm ${paper.name}: --array-size ${options.arraySize}: the grid has ${cells} cells, so at most ${cells} tasks would have work`);
  const arraySize = options.arraySize ?? Math.min(DEFAULT_ARRAY_SIZE, cells);
  const outDir = path.resolve(options.outDir ?? defaultOutDir(paper, config, options));
  // Refused now, not by every job once it leaves the queue: a folder holds one configuration.
  const existing = path.join(outDir, "config.json");
  if (fs.existsSync(existing) && fs.readFileSync(existing, "utf8") !== configText(paper, config, options)) {
    throw new Error(`slurm ${paper.name}: ${existing}: the results there were made with another configuration; use --out DIR for this one`);
  }
  const dir = path.join(outDir, "slurm");
  const logDir = path.join(dir, "logs");
  const root = projectRoot();
  const cli = path.join(root, "dist", "src", "cli.js");
  // Absolute paths: the jobs cd to the checkout, where a relative path from here would not resolve.
  const passed = { ...options, outDir: options.outDir ? outDir : undefined, dataDir: options.dataDir ? path.resolve(options.dataDir) : undefined };
  const run = (command: string, extra: string[]) => ["exec", process.execPath, cli, ...cliArgs(command, paper, passed, extra)].map((a) => (a.includes("$SLURM_ARRAY_TASK_ID") ? `"${a}"` : shellWord(a))).join(" ");
  const scheduling = [...(options.partition ? ["--partition", options.partition] : []), ...(options.time ? ["--time", options.time] : []), ...(options.cpus ? ["--cpus", String(options.cpus)] : [])];
  const generatedBy = ["anatomy-ssl", ...cliArgs("slurm", paper, passed, ["--array-size", String(arraySize), ...scheduling])].map(shellWord).join(" ");
  const header = (job: string, what: string[], log: string, extra: string[] = []) =>
    [
      "#!/bin/bash",
      `# anatomy-ssl on Slurm: ${paper.name}, ${job}.`,
      ...what.map((l) => `# ${l}`),
      `# Written by \`${generatedBy}\`; submit.sh submits the three jobs in order.`,
      `#SBATCH --job-name=anatomy-ssl-${paper.name}-${job.split(" ")[0]}`,
      `#SBATCH --output=${log}`,
      ...extra,
      ...(options.partition ? [`#SBATCH --partition=${options.partition}`] : []),
      ...(options.time ? [`#SBATCH --time=${options.time}`] : []),
      ...(options.cpus ? [`#SBATCH --cpus-per-task=${options.cpus}`] : []),
      "set -euo pipefail",
      `cd ${shellWord(root)}`,
      "# One pretraining cache for every job (resolved when the scripts were written).",
      `export ANATOMY_SSL_CACHE=${shellWord(path.resolve(cacheRoot()))}`,
    ].join("\n");
  const pretrain = [
    header("pretraining job", ["Trains (or finds in the cache) every pretext x seed the grid needs, before any shard starts:", "a shard never trains pretexts itself (its array tasks would race on one cache file)."], path.join(logDir, "pretrain-%j.log")),
    run("reproduce", ["--pretrain-only"]),
  ].join("\n");
  const shards = [
    header(
      `shards array job`,
      [`Task i of 0-${arraySize - 1} runs shard i/${arraySize}: the grid's cells k with k mod ${arraySize} = i, into shards/i-of-${arraySize}/.`, "A rerun task skips its finished cells: `sbatch --array=i shards.sbatch` reruns only task i."],
      path.join(logDir, `shard-%a-of-${arraySize}-%A.log`),
      [`#SBATCH --array=0-${arraySize - 1}`],
    ),
    run("reproduce", ["--shard", `$SLURM_ARRAY_TASK_ID/${arraySize}`]),
  ].join("\n");
  const merge = [
    header("merge job", ["Merges the shard stores into the paper's store and writes its report, as `reproduce` does;", "fails naming missing or duplicate cells and stores of another configuration or code version."], path.join(logDir, "merge-%j.log")),
    run("merge", []),
  ].join("\n");
  const submit = [
    "#!/bin/bash",
    `# Submits ${paper.name}'s jobs: pretraining, then the ${arraySize} shards once it succeeded, then the merge once every shard did.`,
    "# A job whose dependency fails is cancelled (--kill-on-invalid-dep). Running this again is safe:",
    "# cached pretraining is found, finished cells are skipped, and merging twice changes nothing.",
    "# An optional argument, a job id, makes the pretraining wait for that job: `slurm all` passes the",
    "# previous paper's pretraining, since papers share cached pretexts that must be trained once.",
    "set -euo pipefail",
    `cd ${shellWord(dir)}`,
    `mkdir -p ${shellWord(logDir)}`,
    "# --parsable prints \"id\" or \"id;cluster\".",
    "pretrain=$(sbatch --parsable ${1:+--dependency=afterany:$1} pretrain.sbatch)",
    "pretrain=${pretrain%%;*}",
    "shards=$(sbatch --parsable --kill-on-invalid-dep=yes --dependency=afterok:$pretrain shards.sbatch)",
    "shards=${shards%%;*}",
    "merge=$(sbatch --parsable --kill-on-invalid-dep=yes --dependency=afterok:$shards merge.sbatch)",
    "merge=${merge%%;*}",
    `echo "${paper.name}: pretrain=$pretrain shards=$shards merge=$merge (${arraySize} array tasks; logs in ${logDir}; results in ${outDir})"`,
  ].join("\n");
  return {
    paper: paper.name,
    outDir,
    dir,
    logDir,
    arraySize,
    scripts: [
      { name: "pretrain.sbatch", text: pretrain + "\n" },
      { name: "shards.sbatch", text: shards + "\n" },
      { name: "merge.sbatch", text: merge + "\n" },
      { name: "submit.sh", text: submit + "\n" },
    ],
  };
}

/** Write the scripts (and the log folder Slurm writes into); returns the files written. */
export function writeSlurmJobs(jobs: SlurmJobs): string[] {
  fs.mkdirSync(jobs.logDir, { recursive: true });
  return jobs.scripts.map(({ name, text }) => {
    const file = path.join(jobs.dir, name);
    fs.writeFileSync(file, text, { mode: 0o755 });
    fs.chmodSync(file, 0o755);
    return file;
  });
}

/**
 * One script submitting every paper's jobs (`slurm all`), each paper's pretraining after the
 * previous paper's: Zhang 2024 reuses Bai 2019's pretext from the cache (protocol.ts,
 * pretrainFile), and two pretraining jobs at once would both train it, into one cache file and one
 * checkpoint. afterany: the next paper's pretraining may start even if the previous one failed.
 */
export function submitAllScript(all: SlurmJobs[]): { file: string; text: string } {
  // results/slurm-all-submit.sh; with --quick, results/slurm-all-quick-submit.sh (the papers' folders are PAPER-quick).
  const file = path.join(projectRoot(), "results", `slurm-all${path.basename(all[0].outDir).slice(all[0].paper.length)}-submit.sh`);
  const text = [
    "#!/bin/bash",
    `# Submits the Slurm jobs of ${all.map((j) => j.paper).join(", ")}, each paper's pretraining after the previous paper's`,
    "# (they share cached pretexts, trained once). Written by `anatomy-ssl slurm all`.",
    "set -euo pipefail",
    'previous=""',
    // Each submit.sh prints "PAPER: pretrain=ID shards=ID merge=ID (...)".
    ...all.map((j) => [`line=$(bash ${shellWord(path.join(j.dir, "submit.sh"))} $previous)`, 'echo "$line"', "previous=${line#* pretrain=}", "previous=${previous%% *}"].join("\n")),
    "",
  ].join("\n");
  return { file, text };
}

/** Run submit.sh (after job `after`, if given); returns its output, the job ids. Throws with sbatch's message when a submission fails. */
export function submitSlurmJobs(jobs: SlurmJobs, after?: string): string {
  const script = path.join(jobs.dir, "submit.sh");
  const r = spawnSync("bash", [script, ...(after ? [after] : [])], { encoding: "utf8" });
  if (r.error) throw new Error(`${script}: could not run bash: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim() || "no output"}${/sbatch: (command )?not found/.test(r.stderr) ? " (is this a Slurm login node? sbatch is not on PATH)" : ""}`);
  return r.stdout.trim();
}
