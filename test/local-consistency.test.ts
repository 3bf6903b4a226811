// The PGL pretext (pretext/local-consistency.ts) at tiny shapes: the loss against the same
// quantities computed by hand from the network's outputs and the views' correspondences, the
// momentum target (copied at init, moved only by the EMA, never by gradients), the ablations as
// loss weights, and the transfer of the online encoder into a 3D U-Net.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend, tf } from "../src/backend/index.js";
import type { Volume } from "../src/io/volume.js";
import { transferWeights } from "../src/models/transfer.js";
import { buildUNet3D } from "../src/models/unet3d.js";
import { buildPglModel, emaUpdate, pglLoss, sampleViewPairs, type LocalConsistencyConfig } from "../src/pretext/local-consistency.js";
import { Random } from "../src/random.js";
import { trainableVariables } from "../src/models/transfer.js";
import { PGL_VIEW_DEFAULTS, type ViewOptions } from "../src/transforms/views3d.js";

before(async () => {
  await initBackend({ quiet: true });
});

const CONFIG: LocalConsistencyConfig = { depth: 2, baseFilters: 2, levels: [0, 1], hidden: 4, projection: 3, weights: { global: 1, local: 1 }, ema: 0.9 };
const VIEWS: ViewOptions = { ...PGL_VIEW_DEFAULTS, shape: [8, 8, 8], spacingMm: [4, 4, 4], jitterMm: [4, 4, 4] };

/** A smooth random volume, 16^3 voxels of 3 mm. */
function volume(seed: number): Volume {
  const rng = new Random(seed);
  const n = 16;
  const waves = Array.from({ length: 4 }, () => [rng.uniform(0.1, 0.5), rng.uniform(0.1, 0.5), rng.uniform(0.1, 0.5), rng.uniform(0, 6)]);
  const data = new Float32Array(n * n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) data[i + n * (j + n * k)] = waves.reduce((s, [a, b, c, d]) => s + Math.sin(a * i + b * j + c * k + d), 0);
  return { data, shape: [n, n, n], spacing: [3, 3, 3], affine: [[3, 0, 0, -24], [0, 3, 0, -24], [0, 0, 3, -24], [0, 0, 0, 1]] };
}

const weight = (m: tf.LayersModel, name: string) => Array.from(m.weights.find((w) => w.originalName === name)!.read().dataSync());
const cosLoss = (p: number[], z: number[]) => {
  const dot = p.reduce((s, v, i) => s + v * z[i], 0);
  return 2 - (2 * dot) / (Math.sqrt(p.reduce((t, v) => t + v * v, 0) + 1e-12) * Math.sqrt(z.reduce((t, v) => t + v * v, 0) + 1e-12));
};

test("local-consistency: the target starts as the online network and is not trainable", () => {
  const model = buildPglModel(CONFIG, VIEWS.shape, 3);
  const targets = model.weights.filter((w) => w.originalName.startsWith("target_"));
  assert.ok(targets.length > 10);
  for (const t of targets) assert.deepEqual(weight(model, t.originalName), weight(model, t.originalName.slice("target_".length)), t.originalName);
  const trainable = new Set(trainableVariables(model).map((v) => v.name));
  for (const t of targets) assert.ok(![...trainable].some((n) => n.includes("target_")), `${t.originalName} is trainable`);
  model.dispose();
});

test("local-consistency: the loss equals the hand computation from outputs and correspondences", () => {
  const model = buildPglModel(CONFIG, VIEWS.shape, 5);
  const batch = sampleViewPairs([volume(1), volume(2)], 2, VIEWS, CONFIG.levels, new Random(9));
  const parts: Record<string, number> = {};
  const loss = pglLoss(model, batch, CONFIG, (name, v) => (parts[name] = v.dataSync()[0])).dataSync()[0];
  // The same forward pass (training mode: batch statistics, deterministic) read back as arrays.
  const x = batch.x as tf.Tensor5D;
  const outs = (model.apply([x, x], { training: true }) as tf.Tensor[]).map((t) => ({ data: Array.from(t.dataSync()), shape: t.shape }));
  const pairs = 2;
  const row = (o: { data: number[]; shape: number[] }, b: number, v: number) => {
    const c = o.shape[o.shape.length - 1];
    const per = o.data.length / o.shape[0];
    return o.data.slice(b * per + v * c, b * per + v * c + c);
  };
  let global = 0;
  for (let i = 0; i < pairs; i++) global += (cosLoss(row(outs[0], i, 0), row(outs[1], pairs + i, 0)) + cosLoss(row(outs[0], pairs + i, 0), row(outs[1], i, 0))) / 2;
  global /= pairs;
  const terms: number[] = [];
  CONFIG.levels.forEach((l, k) => {
    const [online, target] = [outs[2 + 2 * k], outs[3 + 2 * k]];
    for (let i = 0; i < pairs; i++) {
      for (const [dir, from, to] of [["ab", i, pairs + i], ["ba", pairs + i, i]] as [string, number, number][]) {
        const key = `c${i}_${l}_${dir}`;
        const index = Array.from(batch[`${key}_index`].dataSync());
        const corners = Array.from(batch[`${key}_corners`].dataSync());
        const weights = Array.from(batch[`${key}_weights`].dataSync());
        if (index.length === 0) continue;
        let sum = 0;
        index.forEach((a, n) => {
          const z = new Array(CONFIG.projection).fill(0);
          for (let q = 0; q < 8; q++) row(target, to, corners[8 * n + q]).forEach((v, c) => (z[c] += weights[8 * n + q] * v));
          sum += cosLoss(row(online, from, a), z);
        });
        terms.push(sum / index.length);
      }
    }
  });
  const local = terms.reduce((a, b) => a + b, 0) / terms.length;
  assert.ok(terms.length >= 6, `${terms.length} aligned pairs of feature maps`);
  assert.ok(Math.abs(parts.global - global) < 1e-4, `global ${parts.global} vs ${global}`);
  assert.ok(Math.abs(parts.local - local) < 1e-4, `local ${parts.local} vs ${local}`);
  assert.ok(Math.abs(loss - (global + local)) < 2e-4);
  tf.dispose(Object.values(batch));
  model.dispose();
});

test("local-consistency: gradients move the online network only; the EMA moves the target", () => {
  // 16 hidden units: with 4, every ReLU of the tiny global head can be off for a batch (no gradient at all).
  const globalOnly = { ...CONFIG, hidden: 16, weights: { global: 1, local: 0 } };
  const model = buildPglModel(globalOnly, VIEWS.shape, 7);
  const before = (name: string) => weight(model, name);
  const names = ["enc0_conv1/kernel", "target_enc0_conv1/kernel", "pgl_local0_p1/kernel", "pgl_global_p1/kernel"];
  const start = Object.fromEntries(names.map((n) => [n, before(n)]));
  const optimizer = tf.train.adam(0.01);
  const batch = sampleViewPairs([volume(3)], 2, VIEWS, CONFIG.levels, new Random(4));
  optimizer.minimize(() => pglLoss(model, batch, globalOnly), false, trainableVariables(model));
  const moved = (n: string) => weight(model, n).some((v, i) => v !== start[n][i]);
  assert.ok(moved("enc0_conv1/kernel"), "the online encoder trains");
  assert.ok(moved("pgl_global_p1/kernel"), "the global head trains");
  assert.ok(!moved("target_enc0_conv1/kernel"), "the target gets no gradient");
  assert.ok(!moved("pgl_local0_p1/kernel"), "global only: the local head's weight is 0, so it stays as initialised");
  for (const w of model.weights) assert.ok(w.read().dataSync().every(Number.isFinite), `${w.originalName} is finite after the step`);
  // EMA against the hand computation: target <- 0.9 target + 0.1 online.
  const t0 = before("target_enc0_conv1/kernel");
  const o0 = before("enc0_conv1/kernel");
  emaUpdate(model, 0.9);
  weight(model, "target_enc0_conv1/kernel").forEach((v, i) => assert.ok(Math.abs(v - (0.9 * t0[i] + 0.1 * o0[i])) < 1e-6));
  tf.dispose(Object.values(batch));
  optimizer.dispose();
  model.dispose();
});

test("local-consistency: the online encoder (not the target) transfers into a 3D U-Net by name", () => {
  const model = buildPglModel(CONFIG, VIEWS.shape, 11);
  // Make online and target differ, so copying the wrong one would show.
  for (const w of model.weights) if (!w.originalName.startsWith("target_")) w.write(tf.add(w.read(), 0.5));
  const unet = buildUNet3D({ inDepth: 16, height: 16, width: 16, inChannels: 1, nClasses: 3, depth: CONFIG.depth, baseFilters: CONFIG.baseFilters, seed: 1 });
  const copied = transferWeights(model, unet, "encoder");
  assert.ok(copied.includes("enc1_conv2/kernel") && copied.includes("enc0_bn1/moving_mean"));
  for (const name of copied) assert.deepEqual(weight(unet, name), weight(model, name), name);
  model.dispose();
  unet.dispose();
});

test("local-consistency: the same seed builds the same network (heads included), another seed another", () => {
  const a = buildPglModel(CONFIG, VIEWS.shape, 21);
  const b = buildPglModel(CONFIG, VIEWS.shape, 21);
  const c = buildPglModel(CONFIG, VIEWS.shape, 22);
  for (const w of a.weights) assert.deepEqual(weight(b, w.originalName), weight(a, w.originalName), w.originalName);
  assert.notDeepEqual(weight(c, "pgl_local1_q2/kernel"), weight(a, "pgl_local1_q2/kernel"));
  tf.dispose([a, b, c].flatMap((m) => m.weights.map((w) => w.read())));
});
