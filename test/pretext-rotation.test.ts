// The rotation pretext (pretext/rotation.ts) at tiny shapes: quarter turns against plain index
// arithmetic (numpy.rot90's direction), balanced labels, the loss against a hand-computed
// log-softmax, and the network on a tiny 2D and 3D host: seeded weights, training without tensor
// leaks, the encoder transferred into the host's U-Net, and learning on oriented images.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend, tf } from "../src/backend/index.js";
import { transferWeights } from "../src/models/transfer.js";
import type { GenericHost } from "../src/pretext/generic.js";
import {
  balancedRotations,
  rotate90,
  rotateEach,
  rotationBatch,
  rotationExample,
  rotationLoss,
  rotationPretext,
  ROTATION_TRANSFER,
} from "../src/pretext/rotation.js";
import { Random } from "../src/random.js";
import { tinyNetwork } from "./helpers/tiny-unet.js";

before(async () => {
  await initBackend({ quiet: true });
});

interface Cfg {
  dims: 2 | 3;
  /** [h, w] or [d, h, w]. */
  shape: number[];
  steps: number;
  learningRate: number;
  batch: number;
  /** Add a ramp along h, so images have an "upright" and rotation is learnable. */
  oriented?: boolean;
}

const CFG2: Cfg = { dims: 2, shape: [16, 16], steps: 6, learningRate: 3e-3, batch: 4 };
const CFG3: Cfg = { dims: 3, shape: [8, 16, 16], steps: 3, learningRate: 3e-3, batch: 2 };

/** One smooth random image (sum of sines, plus the ramp if oriented), row-major over `shape`. */
function smoothImage(shape: number[], rng: Random, oriented: boolean): Float32Array {
  const [d, h, w] = shape.length === 3 ? shape : [1, ...shape];
  const waves = Array.from({ length: 3 }, () => [rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), rng.uniform(0, 6)]);
  const out = new Float32Array(d * h * w);
  for (let z = 0; z < d; z++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        let v = waves.reduce((s, [a, b, c, p]) => s + Math.sin(a * z + b * i + c * j + p), 0) / 3;
        if (oriented) v = 0.3 * v + (2 * i) / (h - 1) - 1;
        out[(z * h + i) * w + j] = v;
      }
  return out;
}

/** A tiny host: U-Net depth 2, 4 base filters; images drawn from the rng only. */
const HOST: GenericHost<Cfg, null> = {
  network: (c) => tinyNetwork(c.shape),
  images: (c) => (rng, batch) => {
    const per = c.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(batch * per);
    for (let n = 0; n < batch; n++) data.set(smoothImage(c.shape, rng, c.oriented ?? false), n * per);
    return tf.tensor(data, [batch, ...c.shape, 1]);
  },
  settings: (c) => ({ steps: c.steps, learningRate: c.learningRate, batch: c.batch }),
  dependsOn: (c) => ({ shape: c.shape, oriented: c.oriented ?? false }),
};

/**
 * Plain-JS quarter turn of an n x n image (channels last, `c` channels), written out per k as
 * numpy.rot90(x, k, axes=(0, 1)) defines it: k = 1 -> out[i][j] = x[j][n-1-i].
 */
function jsRotate(x: ArrayLike<number>, n: number, c: number, k: number): number[] {
  const src = (i: number, j: number): [number, number] => {
    switch (((k % 4) + 4) % 4) {
      case 1:
        return [j, n - 1 - i];
      case 2:
        return [n - 1 - i, n - 1 - j];
      case 3:
        return [n - 1 - j, i];
      default:
        return [i, j];
    }
  };
  const out: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const [a, b] = src(i, j);
      for (let ch = 0; ch < c; ch++) out.push(x[(a * n + b) * c + ch]);
    }
  return out;
}

/** jsRotate applied to every slice of a [d, n, n, c] volume (the same k for all). */
function jsRotateVolume(x: ArrayLike<number>, d: number, n: number, c: number, k: number): number[] {
  const per = n * n * c;
  const out: number[] = [];
  for (let z = 0; z < d; z++) out.push(...jsRotate(Array.from(x).slice(z * per, (z + 1) * per), n, c, k));
  return out;
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const weight = (m: tf.LayersModel, name: string) => {
  const w = m.weights.find((v) => v.originalName === name);
  assert.ok(w, `no weight ${name} in ${m.name}`);
  return Array.from(w.read().dataSync());
};

test("rotation: k = 1 is numpy.rot90's direction (counter-clockwise as displayed, row 0 on top)", () => {
  // numpy's own docstring: np.rot90([[1, 2], [3, 4]]) == [[2, 4], [1, 3]]
  const x = tf.tensor3d([1, 2, 3, 4], [2, 2, 1]);
  const r = rotate90(x, 1);
  assert.deepEqual(values(r), [2, 4, 1, 3]);
  tf.dispose([x, r]);
});

test("rotation: 2D quarter turns equal the index computation for each k (2 channels, untouched)", () => {
  const n = 4;
  const data = Array.from({ length: n * n * 2 }, (_, i) => i * 1.5 - 7); // all distinct: nothing symmetric
  const x = tf.tensor3d(data, [n, n, 2]);
  for (const k of [0, 1, 2, 3]) {
    const r = rotate90(x, k);
    assert.deepEqual(r.shape, [n, n, 2]);
    assert.deepEqual(values(r), jsRotate(data, n, 2, k), `k = ${k}`);
    r.dispose();
  }
  // A batch [b, h, w, c] turns in the same (h, w) plane.
  const batch = tf.stack([x, x.neg()]);
  const r = rotate90(batch, 1);
  assert.deepEqual(values(r), [...jsRotate(data, n, 2, 1), ...jsRotate(data.map((v) => -v), n, 2, 1)]);
  tf.dispose([x, batch, r]);
});

test("rotation: 3D turns every axial slice (the last two spatial axes) by the same k", () => {
  const [d, n] = [3, 4];
  const data = Array.from({ length: d * n * n }, (_, i) => ((i * 7) % 31) + i * 0.5); // exact in float32, all distinct
  const x = tf.tensor4d(data, [d, n, n, 1]);
  for (const k of [0, 1, 2, 3]) {
    const r = rotate90(x, k);
    assert.deepEqual(r.shape, [d, n, n, 1]);
    assert.deepEqual(values(r), jsRotateVolume(data, d, n, 1, k), `k = ${k}`);
    r.dispose();
  }
  // A batch of volumes [b, d, h, w, 1], each with its own k.
  const other = data.map((v) => v * -2 + 1);
  const batch = tf.tensor5d([...data, ...other], [2, d, n, n, 1]);
  const r = rotateEach(batch, [3, 1]);
  assert.deepEqual(values(r), [...jsRotateVolume(data, d, n, 1, 3), ...jsRotateVolume(other, d, n, 1, 1)]);
  tf.dispose([x, batch, r]);
});

test("rotation: four quarter turns give back the input; k is taken mod 4", () => {
  for (const shape of [[5, 5, 1], [2, 6, 6, 1], [2, 3, 4, 4, 1]]) {
    const x = tf.randomUniform(shape, -1, 1, "float32", 3);
    let y = x.clone();
    for (let i = 0; i < 4; i++) {
      const next = rotate90(y, 1);
      if (i < 3) assert.notDeepEqual(values(next), values(x), `[${shape}] after ${i + 1} turns`);
      y.dispose();
      y = next;
    }
    assert.deepEqual(values(y), values(x), `[${shape}]`);
    const [a, b, c, e] = [rotate90(x, -1), rotate90(x, 3), rotate90(x, 5), rotate90(x, 1)];
    assert.deepEqual(values(a), values(b));
    assert.deepEqual(values(c), values(e));
    tf.dispose([x, y, a, b, c, e]);
  }
});

test("rotation: non-square in-plane shapes are refused with the shape named", () => {
  const x = tf.zeros([4, 6, 1]);
  assert.throws(() => rotate90(x, 1), /h = w.*\[4, 6\]/);
  x.dispose();
  assert.throws(() => rotationPretext(HOST).model({ ...CFG3, shape: [8, 16, 8] }, 1), /h = w.*\[8, 16, 8\]/);
  const square = tf.zeros([4, 4, 1]);
  assert.throws(() => rotate90(square, 1.5), /integer/);
  square.dispose();
});

test("rotation: labels are balanced, exactly 2 per class in a batch of 8, and drawn from the rng", () => {
  const extras = [0, 0, 0, 0];
  for (let seed = 0; seed < 50; seed++) {
    const eight = balancedRotations(8, new Random(seed));
    assert.deepEqual([0, 1, 2, 3].map((k) => eight.filter((v) => v === k).length), [2, 2, 2, 2], `seed ${seed}: ${eight}`);
    assert.deepEqual(balancedRotations(8, new Random(seed)), eight, "same rng state, same labels");
    // 6 = 4 + 2: every class once or twice, two of them twice; which two varies with the draw.
    const six = balancedRotations(6, new Random(seed));
    const counts = [0, 1, 2, 3].map((k) => six.filter((v) => v === k).length);
    assert.deepEqual([...counts].sort(), [1, 1, 2, 2], `seed ${seed}: ${six}`);
    counts.forEach((c, k) => (extras[k] += c - 1));
  }
  for (const e of extras) assert.ok(e > 10, `remainder classes should vary: ${extras}`);
  // Not always the same order either.
  assert.notDeepEqual(balancedRotations(8, new Random(1)), balancedRotations(8, new Random(2)));
});

test("rotation: rotationBatch turns each image by its drawn label", () => {
  const n = 4;
  const images = tf.tensor4d(Array.from({ length: 8 * n * n }, (_, i) => Math.sin(i * 1.7) + i / 10), [8, n, n, 1]);
  const raw = values(images); // as stored in float32
  const b = rotationBatch(images, new Random(11));
  const ks = values(b.k);
  assert.equal(b.k.dtype, "int32");
  assert.deepEqual(ks, balancedRotations(8, new Random(11)));
  const x = values(b.x);
  for (let i = 0; i < 8; i++) assert.deepEqual(x.slice(i * n * n, (i + 1) * n * n), jsRotate(raw.slice(i * n * n, (i + 1) * n * n), n, 1, ks[i]), `image ${i}`);
  tf.dispose([images, b.x, b.k]);
});

test("rotation: the loss is the mean softmax cross-entropy computed by hand", () => {
  const logits = [
    [1, -2, 0.5, 3],
    [0, 0, 0, 0],
    [-1, 4, 2, -3],
  ];
  const k = [3, 1, 0];
  const hand =
    logits.reduce((s, row, i) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((t, v) => t + Math.exp(v - m), 0));
      return s + lse - row[k[i]];
    }, 0) / logits.length;
  const [l, kt] = [tf.tensor2d(logits), tf.tensor1d(k, "int32")];
  const loss = rotationLoss(l, kt);
  assert.ok(Math.abs(loss.dataSync()[0] - hand) < 1e-5, `${loss.dataSync()[0]} vs ${hand}`);
  tf.dispose([l, kt, loss]);
});

test("rotation: the example gives the four turned copies and their labels", () => {
  const n = 4;
  const data = Array.from({ length: 2 * n * n }, (_, i) => i);
  const image = tf.tensor4d(data, [2, n, n, 1]);
  const ex = rotationExample(image, new Random(1));
  assert.deepEqual(ex.targets, [0, 1, 2, 3]);
  assert.equal(ex.inputs.length, 4);
  assert.equal(ex.captions.length, 4);
  ex.inputs.forEach((t, k) => {
    assert.deepEqual(t.shape, [2, n, n, 1]);
    assert.deepEqual(values(t), jsRotateVolume(data, 2, n, 1, k), `k = ${k}`);
  });
  assert.match(ex.label, /rotation/);
  tf.dispose([image, ...ex.inputs]);
});

test("rotation: the model builds on 2D and 3D hosts, seeded, with only encoder and rot_ weights, and frees the decoder", () => {
  const pretext = rotationPretext(HOST, { hidden: 8 });
  for (const cfg of [CFG2, CFG3]) {
    const base = tf.memory().numTensors;
    const a = pretext.model(cfg, 0);
    const b = pretext.model(cfg, 0);
    const c = pretext.model(cfg, 1);
    assert.deepEqual(a.outputs[0].shape, [null, 4]);
    const names = a.weights.map((w) => w.originalName);
    for (const name of names) assert.match(name, /^(enc\d+_|rot_)/, name);
    assert.ok(names.includes("rot_hidden/kernel") && names.includes("rot_logits/kernel"));
    for (const name of names) assert.deepEqual(weight(b, name), weight(a, name), `seed 0 twice: ${name}`);
    for (const name of ["enc0_conv1/kernel", "rot_hidden/kernel", "rot_logits/kernel"]) assert.notDeepEqual(weight(c, name), weight(a, name), `seed 1 vs 0: ${name}`);
    const x = tf.zeros([2, ...cfg.shape, 1]);
    const y = a.predict(x) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 4]);
    tf.dispose([x, y]);
    // Only the model's own weights are alive: the U-Net's decoder and head were disposed.
    assert.equal(tf.memory().numTensors, base + 3 * names.length, `[${cfg.shape}]`);
    for (const m of [a, b, c]) m.dispose();
    assert.equal(tf.memory().numTensors, base, `[${cfg.shape}] after dispose`);
  }
});

test("rotation: dependsOn covers the host, its budget and the options", () => {
  const dep = rotationPretext(HOST, { hidden: 8 }).dependsOn(CFG2, null) as Record<string, unknown>;
  assert.deepEqual(dep, { host: { shape: [16, 16], oriented: false }, settings: { steps: 6, learningRate: 3e-3, batch: 4 }, options: { hidden: 8 } });
  assert.equal(rotationPretext(HOST).name, "rotation");
});

test("rotation: 2D training runs without leaks, is deterministic, and its encoder transfers", async () => {
  const pretext = rotationPretext(HOST, { hidden: 8 });
  const model = pretext.model(CFG2, 2);
  const init = weight(model, "enc0_conv1/kernel");
  const before = tf.memory().numTensors;
  const result = await pretext.train(CFG2, null, model, 2, "");
  assert.equal(tf.memory().numTensors, before, "tensor count after training");
  assert.equal(result.stepsRun, CFG2.steps);
  assert.ok(result.history.loss.every(Number.isFinite), `${result.history.loss}`);
  const trained = weight(model, "enc0_conv1/kernel");
  assert.notDeepEqual(trained, init, "training moved the encoder");

  // Same seed, same batches and the same run (no draw outside the trainer's rng).
  const twin = pretext.model(CFG2, 2);
  const again = await pretext.train(CFG2, null, twin, 2, "");
  assert.deepEqual(again.history.loss, result.history.loss);
  twin.dispose();

  const unet = HOST.network(CFG2).unet(4, 1);
  const copied = transferWeights(model, unet, ROTATION_TRANSFER);
  assert.ok(copied.includes("enc0_conv1/kernel") && copied.includes("enc1_bn2/moving_mean"));
  assert.deepEqual(weight(unet, "enc0_conv1/kernel"), trained);
  assert.deepEqual(weight(unet, "enc1_conv2/kernel"), weight(model, "enc1_conv2/kernel"));
  // The decoder was never part of the pretext: "all-but-head" must fail, naming a decoder weight.
  assert.throws(() => transferWeights(model, unet, "all-but-head"), /dec0_/);
  unet.dispose();
  model.dispose();
});

test("rotation: 3D training runs without leaks and its encoder transfers", async () => {
  const pretext = rotationPretext(HOST, { hidden: 8 });
  const model = pretext.model(CFG3, 3);
  const before = tf.memory().numTensors;
  const result = await pretext.train(CFG3, null, model, 3, "");
  assert.equal(tf.memory().numTensors, before, "tensor count after training");
  assert.ok(result.history.loss.every(Number.isFinite), `${result.history.loss}`);
  const unet = HOST.network(CFG3).unet(4, 1);
  transferWeights(model, unet, ROTATION_TRANSFER);
  assert.deepEqual(weight(unet, "enc1_conv1/kernel"), weight(model, "enc1_conv1/kernel"));
  unet.dispose();
  model.dispose();
});

test("rotation: on images with an upright, training lowers the loss on a fixed held-out batch", async () => {
  const cfg: Cfg = { ...CFG2, oriented: true, steps: 30, learningRate: 1e-2, batch: 8 };
  const pretext = rotationPretext(HOST, { hidden: 16 });
  const model = pretext.model(cfg, 4);
  const images = HOST.images(cfg, null)(new Random(999), 8);
  const fixed = rotationBatch(images, new Random(5));
  const lossOf = () => tf.tidy(() => rotationLoss(model.apply(fixed.x, { training: true }) as tf.Tensor, fixed.k).dataSync()[0]);
  const start = lossOf();
  await pretext.train(cfg, null, model, 4, "");
  const end = lossOf();
  assert.ok(end < 0.5 * start, `loss ${start.toFixed(3)} -> ${end.toFixed(3)}`);
  tf.dispose([images, fixed.x, fixed.k]);
  model.dispose();
});
