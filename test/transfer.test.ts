import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend, tf } from "../src/backend/index.js";
import { freezePart, trainableVariables, transferWeights } from "../src/models/transfer.js";
import { buildUNet2D } from "../src/models/unet2d.js";
import { crossEntropy } from "../src/train/losses.js";

before(async () => {
  await initBackend({ quiet: true });
});

const small = { height: 16, width: 16, depth: 3, baseFilters: 4 };
const values = async (m: tf.LayersModel) => new Map(await Promise.all(m.weights.map(async (w) => [w.originalName, Array.from(await w.read().data())] as const)));

test("encoder transfer copies encoder weights only; all-but-head leaves only the head", async () => {
  const pretext = buildUNet2D({ ...small, nClasses: 10, seed: 1 });
  const a = buildUNet2D({ ...small, nClasses: 4, seed: 2 });
  const before = await values(a);
  const copied = transferWeights(pretext, a, "encoder");
  assert.ok(copied.length > 0 && copied.every((n) => n.startsWith("enc")));
  const src = await values(pretext);
  const after = await values(a);
  for (const [name, v] of after) {
    if (name.startsWith("enc")) assert.deepEqual(v, src.get(name), name);
    else assert.deepEqual(v, before.get(name), name);
  }
  const b = buildUNet2D({ ...small, nClasses: 4, seed: 3 });
  transferWeights(pretext, b, "all-but-head");
  const bv = await values(b);
  for (const [name, v] of bv) {
    // The head is not copied (its shape differs anyway): its kernel keeps b's own initialisation.
    if (name === "head/kernel") assert.notDeepEqual(v.slice(0, 4), src.get(name)!.slice(0, 4));
    else if (!name.startsWith("head")) assert.deepEqual(v, src.get(name), name);
  }
});

test("a shape mismatch is an error naming the weight", () => {
  const wide = buildUNet2D({ ...small, baseFilters: 8 });
  const narrow = buildUNet2D(small);
  assert.throws(() => transferWeights(wide, narrow, "encoder"), /enc0_conv1\/kernel has shape \[3,3,1,8\] in .* but \[3,3,1,4\]/);
});

test("a frozen encoder's kernels do not change when the rest trains", async () => {
  const m = buildUNet2D({ ...small, seed: 4 });
  freezePart(m, "encoder");
  const before = await values(m);
  const opt = tf.train.adam(0.01);
  const x = tf.randomNormal([2, 16, 16, 1], 0, 1, "float32", 1);
  const y = tf.randomUniform([2, 16, 16], 0, 4, "int32", 2) as tf.Tensor3D;
  for (let i = 0; i < 3; i++) opt.minimize(() => crossEntropy(m.apply(x, { training: true }) as tf.Tensor4D, y), false, trainableVariables(m));
  const after = await values(m);
  for (const [name, v] of after) {
    // BN moving statistics are not trainable and still update (see freezePart); kernels must not.
    if (name.includes("moving")) continue;
    if (name.startsWith("enc")) assert.deepEqual(v, before.get(name), name);
  }
  assert.notDeepEqual(after.get("head/kernel"), before.get("head/kernel"));
});
