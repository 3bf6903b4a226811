/**
 * Reproduction of Bai et al. 2019: pretrain a U-Net to predict anatomical positions (10-way
 * per-pixel classification defined by long-axis planes), transfer it to SA segmentation in
 * three ways, and compare with the same U-Net from scratch across label budgets and seeds.
 *
 *   scratch        random init, segmentation loss
 *   ssl-decoder    pretrained weights, encoder frozen, decoder + new head trained  (SSL+Decoder)
 *   ssl-all        pretrained weights, everything fine-tuned                        (SSL+All)
 *   ssl-multitask  pretrained weights, segmentation + pretext loss on the same labelled
 *                  slices, two heads (channels 0-3 segmentation, 4-13 positions)      (SSL+MultiTask)
 *
 * All pretrained modes take every weight but the head (the pretext network is a whole U-Net).
 * One pretraining run (seed pretrain.seed) serves all fine-tuning seeds; each fine-tuning seed
 * draws its own labelled subjects (nested across budgets) and its own initialisation of the
 * new parts. Every finished (method, budget, seed) cell is appended to the results store, so an
 * interrupted run resumes.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../backend/index.js";
import { openDataset } from "../../datasets/index.js";
import { splitSubjects } from "../../datasets/split.js";
import type { CardiacDataset } from "../../datasets/types.js";
import { freezePart, transferWeights } from "../../models/transfer.js";
import { buildUNet2D } from "../../models/unet2d.js";
import { anatomicalPositionHead } from "../../pretext/anatomical-position.js";
import { projectRoot } from "../../provenance.js";
import { Random } from "../../random.js";
import { loadModelWeights, saveModelWeights } from "../../train/checkpoint.js";
import { segmentationLoss } from "../../train/losses.js";
import { Progress } from "../../train/progress.js";
import { train } from "../../train/trainer.js";
import { sampleBatch } from "../batches.js";
import { prepareStacks, type Stack } from "../cardiac-stacks.js";
import { ResultsStore, cellKey, type CellRecord, type ResultRow } from "../results.js";
import { predictStack, scoreStack } from "../segmentation-eval.js";
import { cacheRoot, ensureSyntheticCardiac } from "../synthetic-cardiac.js";
import { BAI2019_METHODS, type Bai2019Config, type Bai2019Method } from "./bai2019-config.js";

export const PAPER = "bai2019";
const SEG_CLASSES = 4;

export interface Bai2019Data {
  /** Labelled pool: budgets draw from it. */
  pool: { id: string; stacks: Stack[] }[];
  test: Stack[];
  /** Every non-test stack, with anatomical-position targets: the pretraining data. */
  pretext: Stack[];
  dataDescription: string;
}

async function openData(config: Bai2019Config, dataDir: string | undefined): Promise<{ dataset: CardiacDataset; description: string }> {
  if (dataDir) return { dataset: openDataset(config.dataset === "synthetic" ? "mnms2" : config.dataset, dataDir), description: `${config.dataset === "synthetic" ? "mnms2" : config.dataset} at ${dataDir}` };
  if (config.dataset !== "synthetic") throw new Error(`dataset '${config.dataset}' needs --data DIR`);
  const dir = await ensureSyntheticCardiac(config.syntheticSubjects, config.exam);
  return { dataset: openDataset("mnms2", dir), description: `${config.syntheticSubjects} synthetic subjects (phantoms/cardiac, ${config.exam.matrix}x${config.exam.matrix} at ${config.exam.pixel} mm) in ${path.relative(projectRoot(), dir)}` };
}

export async function loadBai2019Data(config: Bai2019Config, dataDir?: string): Promise<Bai2019Data> {
  const { dataset, description } = await openData(config, dataDir);
  const ids = await dataset.listSubjects();
  const split = splitSubjects(ids, { counts: { train: config.labelledPool, val: 0, test: config.testSubjects } }, config.splitSeed);
  const grid = { size: config.size, pixel: config.pixel, tileMm: config.tileMm };
  const progress = new Progress("loading subjects", ids.length);
  let loaded = 0;
  const load = async (id: string, labels: boolean, positions: boolean) => {
    const subject = await dataset.loadSubject(id, { labels });
    progress.update(++loaded);
    return prepareStacks(subject, { ...grid, labels, positionViews: positions ? config.positionViews : undefined });
  };
  const pool = [];
  for (const id of split.train) pool.push({ id, stacks: await load(id, true, true) });
  const test: Stack[] = [];
  for (const id of split.test) test.push(...(await load(id, true, false)));
  const unlabelled: Stack[] = [];
  for (const id of split.unused) unlabelled.push(...(await load(id, false, true)));
  // Pretraining sees every non-test image without its labels (the pool's labels are not used).
  const pretext = [...unlabelled, ...pool.flatMap((p) => p.stacks)];
  return { pool, test, pretext, dataDescription: description };
}

function unet(config: Bai2019Config, nClasses: number, seed: number): tf.LayersModel {
  return buildUNet2D({ height: config.size, width: config.size, inChannels: 1, nClasses, depth: config.unet.depth, baseFilters: config.unet.baseFilters, seed });
}

const positionChannels = (config: Bai2019Config) => anatomicalPositionHead(config.positionViews.length).channels;

/** The settings pretraining depends on: pretrained weights are cached per hash of these. */
function pretrainKey(config: Bai2019Config, dataDescription: string): string {
  const relevant = { dataDescription, exam: config.exam, split: [config.labelledPool, config.testSubjects, config.splitSeed], size: config.size, pixel: config.pixel, positionViews: config.positionViews, tileMm: config.tileMm, unet: config.unet, batch: config.batch, pretrain: config.pretrain, augment: config.augment };
  return crypto.createHash("sha256").update(JSON.stringify(relevant)).digest("hex").slice(0, 12);
}

/** Pretrain the anatomical-position U-Net once (cached; resumable) and return it. */
export async function pretrainBai2019(config: Bai2019Config, data: Bai2019Data, workDir: string, fresh = false): Promise<{ model: tf.LayersModel; file: string; seconds: number; cached: boolean }> {
  const file = path.join(workDir, `pretrained-${pretrainKey(config, data.dataDescription)}.bin`);
  const model = unet(config, positionChannels(config), config.pretrain.seed);
  if (fresh) {
    // --fresh recomputes everything: cached weights may come from other code (the key covers
    // the configuration, not the library version)
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.ckpt`, { force: true });
  }
  if (fs.existsSync(file)) {
    loadModelWeights(file, model);
    return { model, file, seconds: 0, cached: true };
  }
  const result = await train(
    {
      model,
      sample: (rng) => sampleBatch(data.pretext, ["positions"], config.batch, rng, config.augment),
      loss: (b) => segmentationLoss("ce", model.apply(b.x, { training: true }) as tf.Tensor4D, b.positions as tf.Tensor3D),
    },
    { steps: config.pretrain.steps, learningRate: config.pretrain.learningRate, seed: config.pretrain.seed, checkpointFile: `${file}.ckpt`, checkpointEvery: 100, label: "pretrain anatomical positions" },
  );
  await saveModelWeights(file, model, { paper: PAPER, steps: result.stepsRun, finalLoss: result.history.loss.at(-1) });
  return { model, file, seconds: result.seconds, cached: false };
}

/** The labelled subjects of a (budget, seed) cell: the first `budget` of the pool shuffled by seed. */
export function drawLabelled(pool: Bai2019Data["pool"], budget: number, seed: number): Bai2019Data["pool"] {
  if (budget > pool.length) throw new Error(`label budget ${budget} exceeds the labelled pool of ${pool.length} subjects`);
  return new Random(seed).shuffle(pool).slice(0, budget);
}

export interface CellOutcome {
  rows: ResultRow[];
  example: NonNullable<CellRecord["example"]>;
  model: tf.LayersModel;
  trainSubjects: string[];
  steps: number;
  seconds: number;
}

export async function runBai2019Cell(config: Bai2019Config, data: Bai2019Data, pretrained: tf.LayersModel, method: Bai2019Method, budget: number, seed: number): Promise<CellOutcome> {
  const started = performance.now();
  const multitask = method === "ssl-multitask";
  const nClasses = SEG_CLASSES + (multitask ? positionChannels(config) : 0);
  // Same initialisation for every method at a (budget, seed): only the pretrained parts differ.
  const model = unet(config, nClasses, 1000 * seed + budget);
  if (method !== "scratch") transferWeights(pretrained, model, "all-but-head");
  if (method === "ssl-decoder") freezePart(model, "encoder");
  const labelled = drawLabelled(data.pool, budget, seed);
  const labelledStacks = labelled.flatMap((s) => s.stacks);
  const segLogits = (logits: tf.Tensor4D) => (multitask ? (logits.slice([0, 0, 0, 0], [-1, -1, -1, SEG_CLASSES]) as tf.Tensor4D) : logits);
  const result = await train(
    {
      model,
      // SSL+MultiTask trains both heads on the same labelled slices (they have long-axis planes
      // too, so their anatomical positions are known): one forward pass, two losses.
      sample: (rng) => sampleBatch(labelledStacks, multitask ? ["labels", "positions"] : ["labels"], config.batch, rng, config.augment),
      loss: (b, log) => {
        const logits = model.apply(b.x, { training: true }) as tf.Tensor4D;
        const seg = segmentationLoss("ce+dice", segLogits(logits), b.labels as tf.Tensor3D);
        if (!multitask) return seg;
        const pos = segmentationLoss("ce", logits.slice([0, 0, 0, SEG_CLASSES], [-1, -1, -1, -1]) as tf.Tensor4D, b.positions as tf.Tensor3D);
        log("segmentation", seg);
        log("pretext", pos);
        return seg.add(pos.mul(config.multitaskWeight)) as tf.Scalar;
      },
    },
    { steps: config.finetune.steps, learningRate: config.finetune.learningRate, seed: 7919 * seed + budget, label: `${method} budget ${budget} seed ${seed}` },
  );
  const rows: ResultRow[] = [];
  let example: CellOutcome["example"] | undefined;
  for (const stack of data.test) {
    const pred = predictStack(model, stack, { channels: multitask ? [0, SEG_CLASSES] : undefined });
    for (const r of scoreStack(pred, stack)) rows.push({ paper: PAPER, method, budget, seed, ...r });
    if (!example) example = exampleSlice(stack, pred);
  }
  return { rows, example: example!, model, trainSubjects: labelled.map((s) => s.id), steps: result.stepsRun, seconds: (performance.now() - started) / 1000 };
}

/** The mid-ventricular slice (most LV pixels) of the first test stack, for the example figure. */
export function exampleSlice(stack: Stack, pred: Uint8Array): NonNullable<CellRecord["example"]> {
  const area = stack.size * stack.size;
  let best = 0;
  let bestCount = -1;
  for (let k = 0; k < stack.slices; k++) {
    let n = 0;
    for (let o = k * area; o < (k + 1) * area; o++) if (stack.labels?.[o] === 1) n++;
    if (n > bestCount) [best, bestCount] = [k, n];
  }
  const labels = Buffer.from(pred.subarray(best * area, (best + 1) * area)).toString("base64");
  return { subject: stack.subject, phase: stack.phase, slice: best, size: stack.size, labels };
}

export interface Bai2019RunSummary {
  cellsRun: number;
  cellsSkipped: number;
  pretrainSeconds: number;
  pretrainCached: boolean;
  seconds: number;
}

/**
 * Run every missing cell of the protocol into `store`. `onCell` sees each finished cell's model
 * (for example segmentations) before it is disposed.
 */
export async function runBai2019(config: Bai2019Config, store: ResultsStore, options: { dataDir?: string; workDir?: string; fresh?: boolean; onCell?: (c: CellOutcome, method: string, budget: number, seed: number) => Promise<void> } = {}): Promise<{ data: Bai2019Data; summary: Bai2019RunSummary }> {
  const started = performance.now();
  await initBackend();
  for (const m of config.methods) if (!(BAI2019_METHODS as readonly string[]).includes(m)) throw new Error(`unknown method '${m}' (have ${BAI2019_METHODS.join(", ")})`);
  const data = await loadBai2019Data(config, options.dataDir);
  const workDir = options.workDir ?? path.join(cacheRoot(), PAPER);
  const done = store.load().cells;
  const todo: { method: Bai2019Method; budget: number; seed: number }[] = [];
  for (const seed of config.seeds) for (const budget of config.budgets) for (const method of config.methods as Bai2019Method[]) {
    if (!done.has(cellKey({ method, budget, seed }))) todo.push({ method, budget, seed });
  }
  const cellsSkipped = config.seeds.length * config.budgets.length * config.methods.length - todo.length;
  // Pretrain only when a cell needs it: rerunning a finished store just rewrites the report.
  if (todo.length === 0) return { data, summary: { cellsRun: 0, cellsSkipped, pretrainSeconds: 0, pretrainCached: false, seconds: (performance.now() - started) / 1000 } };
  const pre = await pretrainBai2019(config, data, workDir, options.fresh ?? false);
  let cellsRun = 0;
  for (const { method, budget, seed } of todo) {
    const cell = await runBai2019Cell(config, data, pre.model, method, budget, seed);
    store.appendCell({ paper: PAPER, method, budget, seed, trainSubjects: cell.trainSubjects, steps: cell.steps, seconds: cell.seconds, finishedAt: new Date().toISOString(), example: cell.example }, cell.rows);
    await options.onCell?.(cell, method, budget, seed);
    cell.model.dispose();
    cellsRun++;
  }
  pre.model.dispose();
  return { data, summary: { cellsRun, cellsSkipped, pretrainSeconds: pre.seconds, pretrainCached: pre.cached, seconds: (performance.now() - started) / 1000 } };
}
