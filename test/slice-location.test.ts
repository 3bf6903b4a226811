// Zhang 2024 pretext B: each SA slice's relative position from base (0) to apex (1), from the
// affine, and the pooled regression head on the U-Net bottleneck.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import type { Volume } from "../src/io/volume.js";
import { buildUNet2D } from "../src/models/unet2d.js";
import { generateCardiacExam } from "../src/phantoms/cardiac/index.js";
import { sliceLocationLoss, sliceLocationTargets, withSliceLocationHead } from "../src/pretext/slice-location.js";

const stack = (dz: number, z0: number): Volume => ({ data: new Float32Array(4 * 4 * 5), shape: [4, 4, 5], spacing: [1, 1, Math.abs(dz)], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, dz, z0], [0, 0, 0, 1]] });

test("hand-computed: 0 at the basal (superior) end, 1 at the apical (inferior) end, whichever way k runs", () => {
  // k runs superior: slice 0 is the most inferior, i.e. apical.
  assert.deepEqual(sliceLocationTargets(stack(10, 0)), [1, 0.75, 0.5, 0.25, 0]);
  // The same slices stored in reverse order: the same target for the same world position.
  assert.deepEqual(sliceLocationTargets(stack(-10, 40)), [0, 0.25, 0.5, 0.75, 1]);
  // A stack with no extent along its normal has no positions: an error naming the problem.
  assert.throws(() => sliceLocationTargets({ ...stack(10, 0), affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]] }), /all slices lie in one plane/);
});

test("phantoms: slice k of an SA stack planned base -> apex gets k / (n - 1)", () => {
  for (let seed = 1; seed <= 8; seed++) {
    const sa = generateCardiacExam(seed, { matrix: 32, pixel: 6 }).views.SA.ED.image;
    const t = sliceLocationTargets(sa);
    const n = sa.shape[2];
    t.forEach((v, k) => assert.ok(Math.abs(v - k / (n - 1)) < 1e-5, `seed ${seed} slice ${k}: ${v}`));
  }
});

test("head: pooled bottleneck -> hidden -> 1 in [0, 1], sharing every U-Net layer; MSE loss", () => {
  const unet = buildUNet2D({ height: 16, width: 16, inChannels: 1, nClasses: 2, depth: 3, baseFilters: 4, seed: 1 });
  const model = withSliceLocationHead(unet, "enc2_relu2", { hidden: 8, dropout: 0.5, seed: 3 });
  const [maps, location] = model.predict(tf.randomNormal([3, 16, 16, 1], 0, 1, "float32", 5)) as tf.Tensor[];
  assert.deepEqual(maps.shape, [3, 16, 16, 2]);
  assert.deepEqual(location.shape, [3, 1]);
  for (const v of location.dataSync()) assert.ok(v >= 0 && v <= 1);
  // Only the two dense layers are new: (16 * 8 + 8) + (8 + 1) weights on top of the U-Net's.
  const count = (m: tf.LayersModel) => m.weights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  assert.equal(count(model) - count(unet), 16 * 8 + 8 + 8 + 1);
  assert.equal(model.getLayer("enc0_conv1"), unet.getLayer("enc0_conv1"), "the encoder is shared, not copied");
  const loss = sliceLocationLoss(tf.tensor2d([[0.5], [1]]), tf.tensor1d([0, 1])).dataSync()[0];
  assert.ok(Math.abs(loss - 0.125) < 1e-7);
});

test("Zhang multitask: the loss is the weighted sum of the two MSEs; a zero weight turns a task off", async () => {
  const { planeLocationLoss } = await import("../src/pretext/plane-location-multitask.js");
  const outputs = { heatmaps: tf.tensor4d([0, 1, 0.5, 0.2], [1, 2, 2, 1]), location: tf.tensor2d([[0.5]]) };
  const targets = { heatmaps: tf.tensor4d([0, 0, 1, 0.2], [1, 2, 2, 1]), location: tf.tensor1d([1]) };
  // heatmap MSE (1 + 0.25) / 4 = 0.3125; location MSE 0.25.
  const both = planeLocationLoss(outputs, targets, { planes: 1, location: 1 });
  assert.ok(Math.abs(both.loss.dataSync()[0] - 0.5625) < 1e-7);
  assert.ok(Math.abs(planeLocationLoss(outputs, targets, { planes: 2, location: 0 }).loss.dataSync()[0] - 0.625) < 1e-7);
  assert.ok(Math.abs(planeLocationLoss(outputs, targets, { planes: 0, location: 1 }).loss.dataSync()[0] - 0.25) < 1e-7);
  assert.throws(() => planeLocationLoss(outputs, targets, { planes: 0, location: 0 }), /not both 0/);
  assert.throws(() => planeLocationLoss(outputs, targets, { planes: -1, location: 1 }), /must be >= 0/);
});
