/**
 * What each leaderboard pretext costs to pretrain, measured alike: every pretext of
 * src/experiments/leaderboards.ts, one after another in this process, on this machine's backend,
 * with its paper's full configuration and data. The leaderboards' own cost column is the wall
 * time each run recorded, and those runs were made on different days, under different loads and
 * (results/baselines-cardiac) on another backend; this is the like-for-like figure.
 *
 * Per pretext: a run of `--warmup` steps, then a fresh run of warmup + `--steps` steps; the
 * difference over `--steps` is the cost of a step with the network built, kernels compiled and
 * batches flowing (what a long pretraining pays per step). Times the paper's pretraining steps,
 * that is the cost of one pretraining run. The figure to read is the ratio to the dataset's
 * first anatomy-aware pretext, measured in the same run; the step itself against PyTorch is
 * bench/train-step.ts.
 *
 *   node dist/bench/pretext-cost.js [--steps 20] [--warmup 3] [--only cardiac|kidney|abdomen] [--json]
 *
 * Data comes from the cache the reproduce runs use (generated on a first run). Measure on a
 * quiet machine: the CPU other programs took meanwhile is printed, and flagged above 0.05 cores.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeBackend, initBackend } from "../src/backend/index.js";
import { LEADERBOARDS } from "../src/experiments/leaderboards.js";
import type { Paper, ProtocolConfig, ProtocolData } from "../src/experiments/protocol.js";
import { findPaper } from "../src/experiments/registry.js";
import { numberArg, stringArg } from "./args.js";
import { BUSY_CORES, cpuSeconds, othersCores } from "./measure.js";


interface Measured {
  dataset: string;
  pretext: string;
  label: string;
  kind: string;
  from: string;
  msPerStep: number;
  protocolSteps: number;
  /** msPerStep x protocolSteps, in seconds. */
  secondsPerRun: number;
  /** Relative to the dataset's first anatomy-aware pretext. */
  ratio: number;
  othersCores?: number;
}

/** What a dataset's costs are relative to: its first anatomy-aware pretext. */
const referenceOf = (here: Measured[]): Measured => here.find((m) => m.kind === "anatomy") ?? here[0];

/** Seconds of `steps` pretraining steps of one pretext from a fresh network. */
async function timeRun(paper: Paper, config: ProtocolConfig, data: ProtocolData, name: string, steps: number, dir: string): Promise<number> {
  const pretext = paper.pretexts.find((p) => p.name === name);
  if (!pretext) throw new Error(`${paper.name} has no pretext '${name}' (it has ${paper.pretexts.map((p) => p.name).join(", ")})`);
  const short = { ...config, pretrain: { ...config.pretrain, steps } } as ProtocolConfig;
  const model = pretext.model(short, 1);
  // A fresh checkpoint file each time: an existing one would resume instead of training.
  const checkpoint = path.join(dir, `${paper.name}-${name}-${steps}.ckpt`);
  const started = performance.now();
  await pretext.train(short, data, model, 1, checkpoint);
  const seconds = (performance.now() - started) / 1000;
  model.dispose();
  return seconds;
}

async function main(): Promise<void> {
  const steps = numberArg("steps", 20);
  const warmup = numberArg("warmup", 3);
  const only = stringArg("only");
  if (!(Number.isInteger(steps) && steps >= 1 && Number.isInteger(warmup) && warmup >= 1)) throw new Error("--steps and --warmup must be integers >= 1");
  const specs = LEADERBOARDS.filter((s) => !only || s.name === only);
  if (!specs.length) throw new Error(`--only ${only}: no such leaderboard (${LEADERBOARDS.map((s) => s.name).join(", ")})`);
  const backend = describeBackend(await initBackend());
  const json = process.argv.includes("--json");
  const log = (s: string) => (json ? process.stderr : process.stdout).write(s + "\n");
  log(`backend: ${backend}; ${os.cpus().length} cores; ${warmup} warm-up steps, then ${steps} timed steps per pretext`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pretext-cost-"));
  const out: Measured[] = [];
  try {
    for (const spec of specs) {
      const dataByPaper = new Map<string, { paper: Paper; config: ProtocolConfig; data: ProtocolData }>();
      for (const entry of spec.entries.filter((e) => e.pretext)) {
        if (!dataByPaper.has(entry.from)) {
          const paper = findPaper(entry.from);
          dataByPaper.set(entry.from, { paper, config: paper.full, data: await paper.loadData(paper.full) });
        }
        const { paper, config, data } = dataByPaper.get(entry.from)!;
        const before = cpuSeconds();
        const started = performance.now();
        const short = await timeRun(paper, config, data, entry.pretext!, warmup, dir);
        const long = await timeRun(paper, config, data, entry.pretext!, warmup + steps, dir);
        const others = othersCores(before, cpuSeconds(), (performance.now() - started) / 1000);
        const msPerStep = ((long - short) / steps) * 1000;
        out.push({ dataset: spec.name, pretext: entry.pretext!, label: entry.label, kind: entry.kind, from: entry.from, msPerStep, protocolSteps: config.pretrain.steps, secondsPerRun: (msPerStep * config.pretrain.steps) / 1000, ratio: NaN, othersCores: others });
        log(`${spec.name} ${entry.pretext}: ${msPerStep.toFixed(1)} ms/step${others !== undefined && others > BUSY_CORES ? ` (other programs used ${others.toFixed(2)} cores: not comparable)` : ""}`);
      }
      const here = out.filter((m) => m.dataset === spec.name);
      const reference = referenceOf(here);
      for (const m of here) m.ratio = m.msPerStep / reference.msPerStep;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (json) {
    process.stdout.write(JSON.stringify({ backend, steps, warmup, results: out }, null, 2) + "\n");
    return;
  }
  for (const spec of specs) {
    const here = out.filter((m) => m.dataset === spec.name);
    const reference = referenceOf(here);
    log(`\n${spec.title}: relative to ${reference.label}`);
    log("| pretext | kind | ms per step | steps per run | s per run | x reference | other programs (cores) |");
    log("|---|---|---|---|---|---|---|");
    for (const m of here) log(`| ${m.label} | ${m.kind} | ${m.msPerStep.toFixed(1)} | ${m.protocolSteps} | ${m.secondsPerRun.toFixed(0)} | ${m.ratio.toFixed(2)} | ${m.othersCores === undefined ? "n/a" : m.othersCores.toFixed(2)} |`);
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
