/**
 * The training loop every experiment uses: Adam with a schedule, seeded batch sampling,
 * optional validation with early stopping (best weights restored), periodic checkpoints with
 * exact resume, progress on stderr, and no tensor leaks (every batch is disposed, every step is
 * tidied; test/trainer.test.ts checks the tensor count stays flat).
 */
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { trainableVariables } from "../models/transfer.js";
import { Random } from "../random.js";
import { loadTensors, saveTensors } from "./checkpoint.js";
import { learningRateAt, ScheduledAdam, type Schedule } from "./optimizer.js";
import { Progress } from "./progress.js";

/** A batch is a bag of named tensors (inputs, targets); the trainer disposes it after the step. */
export type Batch = Record<string, tf.Tensor>;

export interface TrainSpec {
  /** The model whose weights are checkpointed and restored (all weights, including BN statistics). */
  model: tf.LayersModel;
  /** Variables the optimiser updates: the model's trainable weights, minus frozen parts. */
  variables?: tf.Variable[];
  /** Draw the batch for `step` using only `rng` (so a resumed run draws the same batches). */
  sample: (rng: Random, step: number) => Batch;
  /** Scalar loss of a batch in training mode; may also report named parts through `log`. */
  loss: (batch: Batch, log: (name: string, value: tf.Scalar) => void) => tf.Scalar;
  /** Validation score, higher is better (e.g. mean Dice on validation subjects). */
  validate?: () => Promise<number>;
}

export interface TrainOptions {
  steps: number;
  learningRate: number;
  schedule?: Schedule;
  warmupSteps?: number;
  seed: number;
  /** Validate every this many steps (requires spec.validate). */
  validateEvery?: number;
  /** Stop after this many validations without improvement; the best weights are restored. */
  patience?: number;
  /**
   * An improvement must beat the score at the last improvement by more than this to reset the
   * patience (a plateau creeping up by noise is still a plateau); the weights of the highest
   * score are kept either way. Default 0.
   */
  minDelta?: number;
  /**
   * Validations up to this step do not count against the patience (so no early stop before
   * minSteps + patience validations): small structures (a kidney in an abdominal slice) are first
   * learned as background, and an early chance peak would otherwise end the run. Default 0.
   */
  minSteps?: number;
  /** Checkpoint file for resume; written every `checkpointEvery` steps and removed at the end. */
  checkpointFile?: string;
  checkpointEvery?: number;
  label?: string;
}

export interface TrainResult {
  stepsRun: number;
  /** Loss of every step (and of its logged parts), in order. */
  history: Record<string, number[]>;
  validations: { step: number; score: number }[];
  bestStep?: number;
  stoppedEarly: boolean;
  resumedFrom?: number;
  seconds: number;
}

interface CheckpointMeta {
  step: number;
  rngState: number;
  history: Record<string, number[]>;
  validations: { step: number; score: number }[];
  optimizerWeights: number;
}

export async function train(spec: TrainSpec, options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const variables = spec.variables ?? trainableVariables(spec.model);
  const optimizer = new ScheduledAdam(options.learningRate);
  let rng = new Random(options.seed);
  let history: Record<string, number[]> = { loss: [] };
  let validations: { step: number; score: number }[] = [];
  let step = 0;
  let resumedFrom: number | undefined;

  if (options.checkpointFile && fs.existsSync(options.checkpointFile)) {
    const { tensors, metadata } = loadTensors(options.checkpointFile);
    const meta = metadata as CheckpointMeta;
    const weights = tensors.slice(0, tensors.length - meta.optimizerWeights);
    const byName = new Map(weights.map((t) => [t.name, t]));
    for (const w of spec.model.weights) {
      const t = byName.get(w.originalName);
      if (!t) throw new Error(`${options.checkpointFile}: checkpoint lacks weight ${w.originalName}; delete it to start over`);
      const value = tf.tensor(t.values, t.shape, t.dtype);
      w.write(value);
      value.dispose();
    }
    // Adam's state is positional: [iterations, first moments..., second moments...] in the order
    // of `variables`, which is the same for the same model and freezing.
    const opt = tensors.slice(tensors.length - meta.optimizerWeights).map((t) => ({ name: t.name, tensor: tf.tensor(t.values, t.shape, t.dtype) }));
    await optimizer.setWeights(opt);
    opt.forEach((o) => o.tensor.dispose());
    ({ step, history, validations } = meta);
    rng = Random.fromState(meta.rngState);
    resumedFrom = step;
  }

  const progress = new Progress(options.label ?? "train", options.steps, step);
  let best: { score: number; step: number; weights: tf.Tensor[] } | undefined;
  let reference = -Infinity; // the score at the last improvement by more than minDelta
  let sinceBest = 0;
  let stoppedEarly = false;
  const schedule = { schedule: options.schedule ?? "constant", baseLr: options.learningRate, totalSteps: options.steps, warmupSteps: options.warmupSteps };

  while (step < options.steps) {
    optimizer.setLearningRate(learningRateAt(step, schedule));
    const batch = spec.sample(rng, step);
    const parts: Record<string, tf.Scalar> = {};
    const loss = optimizer.minimize(
      () =>
        spec.loss(batch, (name, value) => {
          parts[name] = tf.keep(value);
        }),
      true,
      variables,
    );
    for (const t of Object.values(batch)) t.dispose();
    if (!loss) throw new Error("loss function returned nothing");
    const value = (await loss.data())[0];
    loss.dispose();
    if (!Number.isFinite(value)) throw new Error(`${options.label ?? "train"}: loss became ${value} at step ${step}`);
    history.loss.push(value);
    for (const [name, t] of Object.entries(parts)) {
      (history[name] ??= []).push((await t.data())[0]);
      t.dispose();
    }
    step++;
    progress.update(step, { loss: value, lr: optimizer.getLearningRate() });

    if (spec.validate && options.validateEvery && step % options.validateEvery === 0) {
      const score = await spec.validate();
      validations.push({ step, score });
      if (!best || score > best.score) {
        best?.weights.forEach((t) => t.dispose());
        best = { score, step, weights: spec.model.weights.map((w) => tf.keep(w.read().clone())) };
      }
      if (score > reference + (options.minDelta ?? 0)) {
        reference = score;
        sinceBest = 0;
      } else if (options.patience !== undefined && step > (options.minSteps ?? 0) && ++sinceBest >= options.patience) {
        stoppedEarly = true;
        break;
      }
    }
    if (options.checkpointFile && options.checkpointEvery && step % options.checkpointEvery === 0 && step < options.steps) {
      await writeCheckpoint(options.checkpointFile, spec.model, optimizer, { step, rngState: rng.getState(), history, validations });
    }
  }

  if (best) {
    spec.model.weights.forEach((w, i) => w.write(best!.weights[i]));
    best.weights.forEach((t) => t.dispose());
  }
  optimizer.dispose();
  if (options.checkpointFile && fs.existsSync(options.checkpointFile)) fs.rmSync(options.checkpointFile);
  return { stepsRun: step, history, validations, bestStep: best?.step, stoppedEarly, resumedFrom, seconds: (performance.now() - started) / 1000 };
}

async function writeCheckpoint(file: string, model: tf.LayersModel, optimizer: ScheduledAdam, meta: Omit<CheckpointMeta, "optimizerWeights">): Promise<void> {
  const opt = await optimizer.getWeights();
  const tensors = [...model.weights.map((w) => ({ name: w.originalName, tensor: w.read() })), ...opt.map((o) => ({ name: `optimizer/${o.name}`, tensor: o.tensor }))];
  await saveTensors(file, tensors, { ...meta, optimizerWeights: opt.length } satisfies CheckpointMeta);
  // getWeights returns Adam's live moment variables (not copies): dispose only the fresh
  // iteration-count scalar at index 0.
  opt[0].tensor.dispose();
}
