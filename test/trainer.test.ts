import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, test } from "node:test";
import { initBackend, tf } from "../src/backend/index.js";
import { Random } from "../src/random.js";
import { fileSystemHandler, loadModelWeights, loadTensors, saveModelWeights, saveTensors } from "../src/train/checkpoint.js";
import { crossEntropy, softDice } from "../src/train/losses.js";
import { learningRateAt } from "../src/train/optimizer.js";
import { train, type Batch, type TrainSpec } from "../src/train/trainer.js";

before(async () => {
  process.env.ANATOMY_SSL_QUIET = "1";
  await initBackend({ quiet: true });
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-trainer-"));

/** A tiny segmentation net: conv-BN-ReLU, conv to 3 classes. Seeded initialisers. */
function tinyNet(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  let x = tf.layers.conv2d({ name: "c1", filters: 4, kernelSize: 3, padding: "same", kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: "bn1" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.conv2d({ name: "head", filters: 3, kernelSize: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Batches of random images whose label is a threshold of the image: learnable. */
function spec(model: tf.LayersModel, failAtStep?: number): TrainSpec {
  return {
    model,
    sample: (rng: Random, step: number): Batch => {
      if (step === failAtStep) throw new Error("simulated interruption");
      const values = Float32Array.from({ length: 2 * 64 }, () => rng.normal());
      const x = tf.tensor4d(values, [2, 8, 8, 1]);
      const y = tf.tensor3d(Int32Array.from(values, (v) => (v < -0.5 ? 0 : v < 0.5 ? 1 : 2)), [2, 8, 8], "int32");
      return { x, y };
    },
    loss: (b, log) => {
      const logits = model.apply(b.x, { training: true }) as tf.Tensor4D;
      const ce = crossEntropy(logits, b.y as tf.Tensor3D);
      log("ce", ce);
      return ce.add(softDice(logits, b.y as tf.Tensor3D)) as tf.Scalar;
    },
  };
}

async function weightsOf(model: tf.LayersModel): Promise<number[][]> {
  return Promise.all(model.weights.map(async (w) => Array.from(await w.read().data())));
}

test("training lowers the loss, the same seed gives the same numbers, and no tensor leaks", async () => {
  const a = tinyNet(1);
  const before = tf.memory().numTensors;
  const r1 = await train(spec(a), { steps: 30, learningRate: 0.05, seed: 5 });
  const after30 = tf.memory().numTensors;
  const r2 = await train(spec(a), { steps: 30, learningRate: 0.05, seed: 6 });
  // The second run leaves the same count as the first: nothing accumulates across runs or steps.
  assert.equal(tf.memory().numTensors, after30);
  assert.ok(after30 - before <= 0, `${after30 - before} tensors leaked by a 30-step run`);
  const first = r1.history.loss.slice(0, 5).reduce((s, v) => s + v) / 5;
  const last = r2.history.loss.slice(-5).reduce((s, v) => s + v) / 5;
  assert.ok(last < first * 0.8, `loss ${first} -> ${last}`);
  assert.equal(r1.history.ce.length, 30);

  const b = tinyNet(1);
  const r3 = await train(spec(b), { steps: 30, learningRate: 0.05, seed: 5 });
  assert.deepEqual(r3.history.loss, r1.history.loss);
  a.dispose();
  b.dispose();
});

test("a run interrupted after a checkpoint resumes to exactly the uninterrupted result", async () => {
  const dir = tmp();
  const file = path.join(dir, "ckpt.bin");
  const options = { steps: 12, learningRate: 0.05, seed: 9, schedule: "cosine" as const, checkpointFile: file, checkpointEvery: 4 };
  const reference = tinyNet(2);
  const full = await train(spec(reference), { ...options, checkpointFile: undefined });

  const interrupted = tinyNet(2);
  await assert.rejects(train(spec(interrupted, 10), options), /simulated interruption/);
  assert.ok(fs.existsSync(file), "checkpoint at step 8 kept after the interruption");
  const resumed = tinyNet(3); // different init: everything must come from the checkpoint
  const r = await train(spec(resumed), options);
  assert.equal(r.resumedFrom, 8);
  assert.deepEqual(r.history.loss, full.history.loss);
  assert.deepEqual(await weightsOf(resumed), await weightsOf(reference));
  assert.ok(!fs.existsSync(file), "checkpoint removed once the run finished");
});

/** A spec whose validations return `scores` in turn; `snapshot()` holds the weights when `keep` was returned. */
function scriptedValidation(model: tf.LayersModel, scores: number[], keep: number) {
  let snapshot: number[][] = [];
  let calls = 0;
  const s = spec(model);
  s.validate = async () => {
    const score = scores[calls++];
    if (score === keep) snapshot = await weightsOf(model);
    return score;
  };
  return { spec: s, snapshot: () => snapshot };
}

test("early stopping restores the weights of the best validation", async () => {
  const model = tinyNet(4);
  const { spec: s, snapshot } = scriptedValidation(model, [0.5, 0.7, 0.6, 0.65, 0.55, 0.9], 0.7);
  const r = await train(s, { steps: 60, learningRate: 0.05, seed: 1, validateEvery: 5, patience: 3 });
  assert.equal(r.stoppedEarly, true);
  assert.equal(r.bestStep, 10);
  assert.equal(r.stepsRun, 25);
  assert.deepEqual(await weightsOf(model), snapshot());
});

test("early stopping with minDelta: gains smaller than minDelta do not reset the patience; the best weights are kept", async () => {
  const model = tinyNet(4);
  const { spec: s, snapshot } = scriptedValidation(model, [0.5, 0.7, 0.702, 0.703, 0.704, 0.9], 0.704);
  const r = await train(s, { steps: 60, learningRate: 0.05, seed: 1, validateEvery: 5, patience: 3, minDelta: 0.01 });
  assert.equal(r.stoppedEarly, true);
  assert.equal(r.stepsRun, 25, "three validations without a gain of 0.01 over 0.7");
  assert.equal(r.bestStep, 25, "the highest score's weights, even though its gain was below minDelta");
  assert.deepEqual(await weightsOf(model), snapshot());
});

test("early stopping waits for minSteps: a chance peak at the first validation does not end the run", async () => {
  const model = tinyNet(4);
  // A peak at step 5, a dip, then learning takes off at step 35.
  const scores = [0.3, 0.1, 0.05, 0.02, 0.01, 0.01, 0.5, 0.8, 0.8, 0.8, 0.8, 0.8];
  const plain = await train(scriptedValidation(model, scores, 0.3).spec, { steps: 60, learningRate: 0.05, seed: 1, validateEvery: 5, patience: 4 });
  assert.deepEqual([plain.stepsRun, plain.bestStep], [25, 5], "without minSteps the dip ends it");
  const model2 = tinyNet(4);
  const waited = await train(scriptedValidation(model2, scores, 0.8).spec, { steps: 60, learningRate: 0.05, seed: 1, validateEvery: 5, patience: 4, minSteps: 30 });
  // Validations up to step 30 do not count; the gains at 35 and 40 reset the patience, which
  // then runs out four validations later, at 60.
  assert.deepEqual([waited.bestStep, waited.stepsRun], [40, 60]);
});

test("learning-rate schedules", () => {
  const o = { baseLr: 1e-3, totalSteps: 100 };
  assert.equal(learningRateAt(50, { ...o, schedule: "constant" }), 1e-3);
  assert.ok(Math.abs(learningRateAt(50, { ...o, schedule: "cosine" }) - 5e-4) < 1e-12);
  assert.ok(learningRateAt(100, { ...o, schedule: "cosine" }) < 1e-12);
  assert.ok(Math.abs(learningRateAt(50, { ...o, schedule: "poly" }) - 1e-3 * 0.5 ** 0.9) < 1e-12);
  assert.ok(Math.abs(learningRateAt(0, { ...o, schedule: "constant", warmupSteps: 10 }) - 1e-4) < 1e-12);
});

test("checkpoint files: weights round-trip, truncation and wrong shapes are named errors", async () => {
  const dir = tmp();
  const model = tinyNet(5);
  const file = path.join(dir, "w.bin");
  await saveModelWeights(file, model, { note: "x" });
  const other = tinyNet(6);
  loadModelWeights(file, other);
  assert.deepEqual(await weightsOf(other), await weightsOf(model));
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
  assert.throws(() => loadTensors(file), new RegExp(`${file.replace(/[/.]/g, "\\$&")}: truncated`));
  await saveTensors(file, [{ name: "c1/kernel", tensor: tf.zeros([2, 2]) }]);
  assert.throws(() => loadModelWeights(file, other), /weight c1\/kernel has shape \[2,2\] but the model expects \[3,3,1,4\]/);
  fs.writeFileSync(file, "garbage!garbage!");
  assert.throws(() => loadTensors(file), /not a checkpoint/);
});

test("fileSystemHandler saves and loads a whole tfjs model", async () => {
  const dir = tmp();
  const model = tinyNet(7);
  await model.save(fileSystemHandler(dir));
  assert.ok(fs.existsSync(path.join(dir, "model.json")) && fs.existsSync(path.join(dir, "weights.bin")));
  const loaded = await tf.loadLayersModel(fileSystemHandler(dir));
  const x = tf.randomNormal([1, 8, 8, 1], 0, 1, "float32", 3);
  const a = await (model.predict(x) as tf.Tensor).data();
  const b = await (loaded.predict(x) as tf.Tensor).data();
  assert.deepEqual(Array.from(b), Array.from(a));
});
