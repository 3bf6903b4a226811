/**
 * The one protocol every paper runs (design.md, "One protocol, many papers"):
 *
 *   split subjects -> for each seed: pretrain the pretext (its own seed; cached by a hash of what
 *   it depends on; resumable) -> for each (method, budget): transfer, fine-tune with validation
 *   and best-checkpoint restore -> evaluate on the fixed test set -> append the cell to the store.
 *
 * A paper supplies only what is its own (a `Paper`): its data preparation, pretext model and
 * pretraining, how each method builds and trains its network, and its report. Tables, statistics
 * and provenance are shared (tables.ts, comparisons.ts, report.ts, reproduce.ts).
 *
 * Statistics need the unit that varies independently: each fine-tuning seed gets its own
 * pretraining run (pretraining variance enters the spread across seeds), its own labelled draw
 * and its own initialisation of the new layers.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import { describeBackend, initBackend } from "../backend/index.js";
import { gitCommit, machineLabel } from "../provenance.js";
import { Random } from "../random.js";
import { loadModelWeights, loadTensors, saveModelWeights } from "../train/checkpoint.js";
import type { TrainOptions, TrainResult } from "../train/trainer.js";
import { cellKey, pretrainKey, type CellRecord, type PretrainRecord, type ResultRow, type ResultsStore } from "./results.js";
import type { ReportInput } from "./report.js";
import { rule, type Rules } from "./settings.js";
import type { SpotCheck } from "./spot-check.js";

/** Settings every paper's protocol has; a paper's config extends this. */
export interface ProtocolConfig {
  /** "synthetic" (built-in phantoms) or a loader name used with --data DIR. */
  dataset: string;
  /** Labelled pool (budgets draw from it), fixed validation and test sets; the rest is unlabelled. */
  labelledPool: number;
  validationSubjects: number;
  testSubjects: number;
  splitSeed: number;
  budgets: number[];
  /** Each seed: its own pretraining, labelled draw and initialisation. */
  seeds: number[];
  methods: string[];
  batch: number;
  pretrain: { steps: number; learningRate: number };
  /**
   * The stopping rule: train up to maxSteps, score the validation subjects every validateEvery
   * steps, stop after `patience` validations without a gain of more than `minDelta` (Dice) over
   * the last improvement, keep the weights of the best score.
   */
  finetune: { maxSteps: number; learningRate: number; validateEvery: number; patience: number; minDelta: number; minSteps?: number };
  /**
   * Pretexts pretrained for every seed only to record what they achieve on held-out data
   * (Pretext.evaluate), with no fine-tuned method (e.g. an ablation of how the pretext is posed).
   */
  pretrainOnly?: string[];
}

/** Rules for the shared settings; a paper adds its own. */
export const PROTOCOL_RULES: Rules = {
  labelledPool: rule.int(1),
  validationSubjects: rule.int(1),
  testSubjects: rule.int(1),
  splitSeed: rule.int(0),
  budgets: rule.intList(1),
  seeds: rule.intList(0),
  batch: rule.int(1),
  "pretrain.steps": rule.int(1),
  "pretrain.learningRate": rule.positive(),
  "finetune.maxSteps": rule.int(1),
  "finetune.learningRate": rule.positive(),
  "finetune.validateEvery": rule.int(1),
  "finetune.patience": rule.int(1),
  "finetune.minDelta": rule.range(0, 1),
};

export const protocolChecks = [
  (c: ProtocolConfig): string[] => c.budgets.filter((b) => b > c.labelledPool).map((b) => `setting budgets = ${c.budgets.join(",")}: budget ${b} exceeds labelledPool = ${c.labelledPool}`),
  (c: ProtocolConfig): string[] => (c.finetune.validateEvery > c.finetune.maxSteps ? [`setting finetune.validateEvery = ${c.finetune.validateEvery}: must be <= finetune.maxSteps = ${c.finetune.maxSteps}, or the validation subjects are never scored`] : []),
];

export interface Method {
  name: string;
  /** How tables and figures name it. */
  label: string;
  /** The paper's pretext this method starts from (its seed's pretraining must run); none: scratch. */
  pretext?: string;
}

/** What a paper's data preparation returns: labelled pool, validation and test subjects. */
export interface ProtocolData<S = unknown> {
  pool: { id: string; items: S[] }[];
  validation: S[];
  test: S[];
  /** One line for the README: what the data was and where it came from. */
  description: string;
}

export interface CellInput<C, D> {
  config: C;
  data: D;
  method: Method;
  budget: number;
  seed: number;
  /** The labelled subjects of this cell (first `budget` of the pool shuffled by seed). */
  labelled: ProtocolData["pool"];
  /** The trained network of the method's pretext for this seed (undefined for scratch). */
  pretrained?: tf.LayersModel;
  /**
   * The stopping rule's trainer options (validation interval, patience, seed, label): pass them
   * to train() with a `validate` in the spec that scores data.validation (higher is better).
   */
  trainOptions: TrainOptions;
}

export interface CellOutput {
  model: tf.LayersModel;
  train: TrainResult;
  /** Metric rows without paper/method/budget/seed. */
  rows: Omit<ResultRow, "paper" | "method" | "budget" | "seed">[];
  example?: CellRecord["example"];
}

/**
 * A pretext a paper pretrains: its network and its training. A paper may have several (Zhang
 * 2024: A, B and A+B; another paper's pretext on the same splits for comparison); methods name
 * the one they start from.
 */
export interface Pretext<C, D> {
  name: string;
  /** The settings this pretraining depends on (hashed into the cache file name with the seed). */
  dependsOn(config: C, data: D): unknown;
  model(config: C, seed: number): tf.LayersModel;
  train(config: C, data: D, model: tf.LayersModel, seed: number, checkpointFile: string): Promise<TrainResult>;
  /**
   * What the trained pretext achieves on data it did not train on (e.g. same-side accuracy on
   * held-out subjects), recorded with the pretraining run. Optional.
   */
  evaluate?(config: C, data: D, model: tf.LayersModel, seed: number): Promise<Record<string, number>>;
}

export interface Paper<C extends ProtocolConfig = ProtocolConfig, D extends ProtocolData = ProtocolData> {
  name: string;
  title: string;
  full: C;
  quick: C;
  methods: readonly Method[];
  /** The method every other is compared with (training from scratch). */
  baseline: string;
  /** Rules for the paper's own settings and cross-setting checks (shared ones are added). */
  rules: Rules;
  checks: ((config: C) => string[])[];
  /** Loaders accepted with --data (their names as in data-manifests/). */
  dataLoaders: readonly string[];
  loadData(config: C, dataDir?: string): Promise<D>;
  pretexts: readonly Pretext<C, D>[];
  runCell(input: CellInput<C, D>): Promise<CellOutput>;
  /** Tables, figures and README from the store; returns the files written. */
  writeReport(input: ReportInput<C, D>): string[];
  /** Its notebook's file stem in notebooks/ (rendered to results/notebooks/<stem>.html). */
  notebook: string;
  /** The key cells `anatomy-ssl spot-check` retrains and compares with the committed run (papers only, not baseline runs). */
  spotCheck?: SpotCheck;
}

/** The labelled subjects of a (budget, seed) cell: nested across budgets for a seed. */
export function drawLabelled<T>(pool: T[], budget: number, seed: number): T[] {
  if (budget > pool.length) throw new Error(`label budget ${budget} exceeds the labelled pool of ${pool.length} subjects`);
  return new Random(seed).shuffle(pool).slice(0, budget);
}

/** Where a cell or a pretraining run was computed: so regenerated reports never claim it. */
export interface ComputedOn {
  machine: string;
  backend: string;
  gitCommit: string;
}

export interface RunSummary {
  cellsRun: number;
  cellsSkipped: number;
  pretrainRuns: number;
  pretrainCached: number;
  pretrainSeconds: number;
  seconds: number;
}

/** Loss averaged over windows of `every` steps, so a cell's curve stays small in the store. */
function windowedLoss(loss: number[], every: number): { step: number; loss: number }[] {
  const out: { step: number; loss: number }[] = [];
  for (let s = 0; s < loss.length; s += every) {
    const w = loss.slice(s, s + every);
    out.push({ step: s + w.length, loss: w.reduce((a, b) => a + b, 0) / w.length });
  }
  return out;
}

/**
 * Cached weights of one pretraining run. The key is the pretext, the seed and what it depends on,
 * not the paper: a pretext two papers share (Bai's anatomical positions, run again in Zhang 2024)
 * on the same data and settings is trained once. `dependsOn` must therefore cover everything that
 * decides the run, and a paper reusing another's pretext must feed it the same data in the same
 * order.
 */
function pretrainFile(pretext: Pretext<never, never>, config: ProtocolConfig, data: ProtocolData, seed: number, workDir: string): string {
  const key = crypto.createHash("sha256").update(JSON.stringify({ pretext: pretext.name, seed, dependsOn: pretext.dependsOn(config as never, data as never) })).digest("hex").slice(0, 12);
  return path.join(workDir, `pretrained-${pretext.name}-seed${seed}-${key}.bin`);
}

/**
 * What a run does about pretraining:
 * - "train" (a single-process run): trains the weights the cache lacks, then runs its cells;
 * - "cache-only" (a shard): takes every pretrained weight from the cache and fails, naming it and
 *   `pretrainCommand`, when one is missing; records no pretraining (the pretraining job does);
 * - "only" (the pretraining job of a sharded run): trains or finds in the cache the weights of
 *   every pretext x seed its missing cells need (and the evaluated-only pretexts), records them,
 *   and runs no cell.
 */
export type PretrainingMode = "train" | "cache-only" | "only";

/**
 * Run every missing cell of `paper`'s protocol into `store` (or, for a shard, the missing cells
 * of its share). `fresh` also recomputes cached pretrained weights (the cache key covers the
 * settings, not the library's code).
 */
export async function runProtocol<C extends ProtocolConfig, D extends ProtocolData>(
  paper: Paper<C, D>,
  config: C,
  store: ResultsStore,
  options: {
    dataDir?: string;
    workDir: string;
    fresh?: boolean;
    /** Only these cells (cellKey) are this run's: a shard's share. Default: the whole grid. */
    share?: Set<string>;
    /** Cells and pretraining records already in another store (a shard's paper store): skipped, not recomputed. */
    doneElsewhere?: { cells: ReadonlySet<string>; pretrains: ReadonlySet<string> };
    pretraining?: PretrainingMode;
    /** The command that makes missing pretrained weights, named in the "cache-only" error. */
    pretrainCommand?: string;
    /** Before the first record is appended (a cell; in "only" mode a pretraining record). */
    beforeFirstCell?: () => void;
    /** After each stored cell, with the counts so far: lets the caller record a run that may be killed. */
    afterCell?: (soFar: RunSummary, computedOn: ComputedOn, data: D) => void;
    data?: D;
  },
): Promise<{ data: D; summary: RunSummary; computedOn: ComputedOn }> {
  const started = performance.now();
  const mode = options.pretraining ?? "train";
  const backend = await initBackend();
  const computedOn: ComputedOn = { machine: machineLabel(), backend: describeBackend(backend), gitCommit: gitCommit() };
  const data = options.data ?? (await paper.loadData(config, options.dataDir));
  const methods = config.methods.map((name) => paper.methods.find((m) => m.name === name)!);
  const stored = store.load();
  const isDone = (key: string) => stored.cells.has(key) || (options.doneElsewhere?.cells.has(key) ?? false);
  const isRecorded = (key: string) => stored.pretrains.has(key) || (options.doneElsewhere?.pretrains.has(key) ?? false);
  const mine = (key: string) => options.share?.has(key) ?? true;
  const summary: RunSummary = { cellsRun: 0, cellsSkipped: 0, pretrainRuns: 0, pretrainCached: 0, pretrainSeconds: 0, seconds: 0 };
  let total = 0;
  let first = true;
  const beforeFirstRecord = () => {
    if (first) options.beforeFirstCell?.();
    first = false;
  };
  for (const seed of config.seeds) {
    const cells = config.budgets.flatMap((budget) => methods.map((method) => ({ method, budget }))).filter((c) => mine(cellKey({ method: c.method.name, budget: c.budget, seed })));
    const todo = cells.filter((c) => !isDone(cellKey({ method: c.method.name, budget: c.budget, seed })));
    // The pretraining job runs no cell: they are the shards' (and not counted as skipped).
    if (mode !== "only") {
      total += cells.length;
      summary.cellsSkipped += cells.length - todo.length;
    }
    // Evaluated-only pretexts are the pretraining job's, never a shard's.
    const onlyMissing = mode === "cache-only" ? [] : (config.pretrainOnly ?? []).filter((name) => !isRecorded(pretrainKey({ pretext: name, seed })));
    if (todo.length === 0 && onlyMissing.length === 0) continue;
    // Pretrain this seed's pretexts that a missing cell needs, once each, and the evaluated-only ones not yet recorded.
    const pretrained = new Map<string, tf.LayersModel>();
    for (const name of new Set([...todo.map((t) => t.method.pretext).filter((p): p is string => p !== undefined), ...onlyMissing])) {
      const pretext = paper.pretexts.find((p) => p.name === name);
      if (!pretext) throw new Error(`${paper.name}: a method starts from pretext '${name}', which the paper does not define (have ${paper.pretexts.map((p) => p.name).join(", ")})`);
      const file = pretrainFile(pretext as Pretext<never, never>, config, data, seed, options.workDir);
      if (options.fresh) for (const f of [file, `${file}.ckpt`]) fs.rmSync(f, { force: true });
      const model = pretext.model(config, seed);
      let record: Omit<PretrainRecord, "paper" | "fromCache">;
      const cached = fs.existsSync(file);
      if (!cached && mode === "cache-only") {
        // A shard never pretrains: the array tasks of one seed start together and would all
        // train the same weights at once, into one cache file and one checkpoint (the same work n
        // times, and checkpoints overwritten under each other). One job makes them beforehand.
        throw new Error(
          `${paper.name}: the pretrained weights of pretext '${name}' for seed ${seed} are not in the cache (${file}); a shard does not train them itself. ` +
            `Run the pretraining first: \`${options.pretrainCommand ?? `anatomy-ssl reproduce ${paper.name} --pretrain-only`}\` (the pretraining job that \`anatomy-ssl slurm\` submits before the shards), with the same ANATOMY_SSL_CACHE.`,
        );
      }
      if (cached) {
        loadModelWeights(file, model);
        // The record saved with the weights (cost, metrics, where it was computed).
        const saved = loadTensors(file).metadata as Partial<PretrainRecord>;
        record = { pretext: name, seed, steps: saved.steps ?? NaN, seconds: saved.seconds ?? NaN, finalLoss: saved.finalLoss, metrics: saved.metrics, computedOn: saved.computedOn };
        summary.pretrainCached++;
      } else {
        fs.mkdirSync(options.workDir, { recursive: true });
        const result = await pretext.train(config, data, model, seed, `${file}.ckpt`);
        const metrics = pretext.evaluate ? await pretext.evaluate(config, data, model, seed) : undefined;
        record = { pretext: name, seed, steps: result.stepsRun, seconds: result.seconds, finalLoss: result.history.loss.at(-1), metrics, computedOn };
        await saveModelWeights(file, model, record);
        summary.pretrainRuns++;
        summary.pretrainSeconds += result.seconds;
      }
      // A shard's cells name their pretraining seed; its record is the pretraining job's.
      if (mode !== "cache-only" && !isRecorded(pretrainKey({ pretext: name, seed }))) {
        if (mode === "only") beforeFirstRecord();
        store.appendPretrain({ ...record, paper: paper.name, fromCache: cached });
      }
      pretrained.set(name, model);
    }
    for (const { method, budget } of mode === "only" ? [] : todo) {
      const cellStarted = performance.now();
      const labelled = drawLabelled(data.pool, budget, seed);
      const f = config.finetune;
      const trainOptions: TrainOptions = { steps: f.maxSteps, learningRate: f.learningRate, validateEvery: f.validateEvery, patience: f.patience, minDelta: f.minDelta, minSteps: f.minSteps, seed: 7919 * seed + budget, label: `${method.name} budget ${budget} seed ${seed}` };
      const out = await paper.runCell({ config, data, method, budget, seed, labelled, pretrained: method.pretext ? pretrained.get(method.pretext) : undefined, trainOptions });
      // The stopping rule is the protocol's, not the paper's choice: a cell must have validated.
      if (out.train.validations.length === 0) throw new Error(`${paper.name}: cell ${method.name} budget ${budget} seed ${seed} trained without validation; runCell must pass a validate function to train()`);
      beforeFirstRecord();
      const record: CellRecord = {
        paper: paper.name,
        method: method.name,
        budget,
        seed,
        pretrainSeed: method.pretext ? seed : undefined,
        trainSubjects: labelled.map((s) => s.id),
        steps: out.train.stepsRun,
        bestStep: out.train.bestStep,
        stoppedEarly: out.train.stoppedEarly,
        curve: { loss: windowedLoss(out.train.history.loss, f.validateEvery), validation: out.train.validations.map((v) => ({ step: v.step, score: Math.round(v.score * 1e4) / 1e4 })) },
        seconds: (performance.now() - cellStarted) / 1000,
        finishedAt: new Date().toISOString(),
        computedOn,
        example: out.example,
      };
      store.appendCell(record, out.rows.map((r) => ({ paper: paper.name, method: method.name, budget, seed, ...r })));
      out.model.dispose();
      summary.cellsRun++;
      options.afterCell?.({ ...summary, seconds: (performance.now() - started) / 1000 }, computedOn, data);
    }
    for (const m of pretrained.values()) m.dispose();
  }
  if (summary.cellsRun + summary.cellsSkipped !== total) throw new Error(`internal: ${summary.cellsRun} + ${summary.cellsSkipped} cells of ${total}`);
  summary.seconds = (performance.now() - started) / 1000;
  return { data, summary, computedOn };
}
