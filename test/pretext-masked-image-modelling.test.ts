// The masked-image-modelling pretext (pretext/masked-image-modelling.ts) at tiny shapes: masks
// checked patch by patch with plain loops, the masked input and the masked MSE against plain-JS
// computations, seeding, the example for notebooks, and the pretext on a tiny in-test host (model,
// training without leaks, transfer of everything but the head, learning on a fixed batch).
import assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { before, test } from "node:test";
import { initBackend, tf } from "../src/backend/index.js";
import { transferWeights } from "../src/models/transfer.js";
import type { GenericHost } from "../src/pretext/generic.js";
import { drawPatchMask, maskedMse, MIM_DEFAULTS, mimBatch, mimExample, mimPretext } from "../src/pretext/masked-image-modelling.js";
import { Random } from "../src/random.js";
import { tinyNetwork } from "./helpers/tiny-unet.js";

before(async () => {
  await initBackend({ quiet: true });
});

interface Cfg {
  shape: number[];
  steps: number;
  learningRate: number;
  batch: number;
}
interface Data {
  description: string;
}

const CFG2: Cfg = { shape: [16, 16], steps: 6, learningRate: 1e-2, batch: 3 };
const CFG3: Cfg = { shape: [8, 16, 16], steps: 3, learningRate: 1e-2, batch: 2 };
const DATA: Data = { description: "smooth random images" };

/** A smooth random image of `shape` (sum of 4 plane waves), z-scored, drawn from `rng` only. */
function smoothImage(shape: number[], rng: Random): Float32Array {
  const waves = Array.from({ length: 4 }, () => [...shape.map(() => rng.uniform(-0.6, 0.6)), rng.uniform(0, 6)]);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // coordinates of pixel i, row-major
    let r = i;
    const coord = new Array<number>(shape.length);
    for (let a = shape.length - 1; a >= 0; a--) {
      coord[a] = r % shape[a];
      r = Math.floor(r / shape[a]);
    }
    out[i] = waves.reduce((s, w) => s + Math.sin(coord.reduce((t, c, a) => t + w[a] * c, w[shape.length])), 0);
  }
  const mean = out.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / n) || 1;
  return out.map((v) => (v - mean) / sd);
}

const HOST: GenericHost<Cfg, Data> = {
  network: (c) => tinyNetwork(c.shape),
  images: (c) => (rng, batch) => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(batch * n);
    for (let i = 0; i < batch; i++) data.set(smoothImage(c.shape, rng), i * n);
    return tf.tensor(data, [batch, ...c.shape, 1]);
  },
  settings: (c) => ({ steps: c.steps, learningRate: c.learningRate, batch: c.batch }),
  dependsOn: (c, d) => ({ shape: c.shape, data: d.description }),
};

const weight = (m: tf.LayersModel, name: string) => Array.from(m.weights.find((w) => w.originalName === name)!.read().dataSync());
const tmpFile = (name: string) => path.join(os.tmpdir(), `mim-test-${process.pid}-${name}.ckpt`);

/** Sums of the mask over every patch, by plain nested loops (2D [h, w] or 3D [d, h, w]). */
function patchSums(mask: Float32Array, shape: number[], p: number): number[] {
  const sums: number[] = [];
  if (shape.length === 2) {
    const [h, w] = shape;
    for (let py = 0; py < h / p; py++)
      for (let px = 0; px < w / p; px++) {
        let s = 0;
        for (let y = py * p; y < (py + 1) * p; y++) for (let x = px * p; x < (px + 1) * p; x++) s += mask[y * w + x];
        sums.push(s);
      }
  } else {
    const [d, h, w] = shape;
    for (let pz = 0; pz < d / p; pz++)
      for (let py = 0; py < h / p; py++)
        for (let px = 0; px < w / p; px++) {
          let s = 0;
          for (let z = pz * p; z < (pz + 1) * p; z++) for (let y = py * p; y < (py + 1) * p; y++) for (let x = px * p; x < (px + 1) * p; x++) s += mask[(z * h + y) * w + x];
          sums.push(s);
        }
  }
  return sums;
}

test("mim: the mask covers exactly round(ratio x patches) whole patches (2D, 3D, two ratios, two patch sizes)", () => {
  const cases: [number[], number, number][] = [
    [[16, 16], 4, 0.6],
    [[16, 16], 4, 0.3],
    [[16, 16], 2, 0.75],
    [[8, 16, 16], 4, 0.6],
    [[8, 16, 16], 4, 0.3],
    [[8, 16, 16], 2, 0.6],
  ];
  for (const [shape, p, ratio] of cases) {
    for (const seed of [1, 2, 3]) {
      const mask = drawPatchMask(shape, { patch: p, ratio }, new Random(seed));
      const what = `[${shape}] p=${p} ratio=${ratio} seed=${seed}`;
      assert.equal(mask.length, shape.reduce((a, b) => a * b, 1), what);
      assert.ok(mask.every((v) => v === 0 || v === 1), `${what}: values are 0 or 1`);
      const volume = p ** shape.length;
      const sums = patchSums(mask, shape, p);
      const expected = Math.round(ratio * sums.length);
      assert.ok(sums.every((s) => s === 0 || s === volume), `${what}: every patch fully masked or not at all`);
      assert.equal(sums.filter((s) => s === volume).length, expected, `${what}: masked patches`);
      assert.equal(mask.reduce((a, b) => a + b, 0), expected * volume, `${what}: masked pixels`);
    }
  }
  // Uniform choice: over 400 draws every one of the 16 patches is masked about 10/16 of the time.
  const counts = new Array(16).fill(0);
  const rng = new Random(5);
  for (let i = 0; i < 400; i++) patchSums(drawPatchMask([16, 16], { patch: 4, ratio: 0.6 }, rng), [16, 16], 4).forEach((s, j) => (counts[j] += s > 0 ? 1 : 0));
  for (const c of counts) assert.ok(c / 400 > 0.5 && c / 400 < 0.75, `patch masked in ${c} of 400 draws (expected ~250)`);
});

test("mim: shapes not divisible by the patch, and ratios that mask nothing or everything, are errors", () => {
  assert.throws(() => drawPatchMask([18, 16], { patch: 4 }, new Random(1)), /\[18, 16\].*patch size 4/);
  assert.throws(() => drawPatchMask([8, 16, 10], { patch: 4 }, new Random(1)), /\[8, 16, 10\].*patch size 4/);
  assert.throws(() => drawPatchMask([16, 16], { ratio: 1 }, new Random(1)), /ratio must be in \(0, 1\)/);
  assert.throws(() => drawPatchMask([16, 16], { ratio: 0.02 }, new Random(1)), /masks 0/);
  assert.throws(() => drawPatchMask([16, 16], { ratio: 0.98 }, new Random(1)), /masks 16/);
  // The pretext checks its host's shape before building anything.
  assert.throws(() => mimPretext(HOST).model({ ...CFG2, shape: [12, 18] }, 1), /\[12, 18\].*patch size 4/);
  assert.throws(() => mimPretext(HOST, { patch: 8 }).model({ ...CFG2, shape: [12, 16] }, 1), /\[12, 16\].*patch size 8/);
});

test("mim: the batch's input is the image outside the mask and the visible pixels' mean inside; target the image; one mask per image", () => {
  for (const cfg of [CFG2, CFG3]) {
    const rng = new Random(11);
    const images = HOST.images(cfg, DATA)(rng, 3);
    const original = Array.from(images.dataSync());
    const batch = mimBatch(images, rng, { ratio: 0.6 });
    assert.deepEqual(batch.x.shape, images.shape);
    assert.deepEqual(batch.mask.shape, images.shape);
    const x = batch.x.dataSync();
    const mask = batch.mask.dataSync();
    assert.deepEqual(Array.from(batch.target.dataSync()), original);
    let masked = 0;
    const n0 = original.length / 3;
    const visibleMean = (b: number) => {
      let sum = 0;
      let count = 0;
      for (let i = b * n0; i < (b + 1) * n0; i++) if (mask[i] === 0) [sum, count] = [sum + original[i], count + 1];
      return sum / count;
    };
    const means = [0, 1, 2].map(visibleMean);
    for (let i = 0; i < original.length; i++) {
      if (mask[i] === 1) {
        assert.ok(Math.abs(x[i] - means[Math.floor(i / n0)]) < 1e-5, `pixel ${i} masked: ${x[i]} vs the visible mean ${means[Math.floor(i / n0)]}`);
        masked++;
      } else {
        assert.equal(mask[i], 0);
        assert.equal(x[i], original[i], `pixel ${i} visible`);
      }
    }
    const n = original.length / 3;
    const patches = cfg.shape.reduce((a, b) => a * (b / 4), 1);
    assert.equal(masked, 3 * Math.round(0.6 * patches) * 4 ** cfg.shape.length);
    // Each image has its own mask, in batch order: the masks of three consecutive draws.
    const again = new Random(11);
    HOST.images(cfg, DATA)(again, 3).dispose();
    for (let b = 0; b < 3; b++) assert.deepEqual(Array.from(mask.slice(b * n, (b + 1) * n)), Array.from(drawPatchMask(cfg.shape, { ratio: 0.6 }, again)), `mask of image ${b}`);
    assert.notDeepEqual(Array.from(mask.slice(0, n)), Array.from(mask.slice(n, 2 * n)));
    tf.dispose(Object.values(batch));
  }
});

test("mim: the loss is the plain masked MSE and ignores the predictions at unmasked pixels", () => {
  const rng = new Random(3);
  const shape = [2, 4, 4, 1];
  const n = 32;
  const pred = Array.from({ length: n }, () => rng.normal());
  const target = Array.from({ length: n }, () => rng.normal());
  const mask = Array.from({ length: n }, (_, i) => (i % 3 === 0 || i > 27 ? 1 : 0));
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i]) {
      sum += (pred[i] - target[i]) ** 2;
      count++;
    }
  }
  const expected = sum / count;
  const loss = (p: number[]) => {
    const [pt, tt, mt] = [tf.tensor(p, shape), tf.tensor(target, shape), tf.tensor(mask, shape)];
    const l = maskedMse(pt, tt, mt);
    const v = l.dataSync()[0];
    tf.dispose([pt, tt, mt, l]);
    return v;
  };
  assert.ok(Math.abs(loss(pred) - expected) < 1e-5, `${loss(pred)} vs ${expected}`);
  const unmaskedChanged = pred.map((v, i) => (mask[i] ? v : v + 7 * rng.normal()));
  assert.equal(loss(unmaskedChanged), loss(pred));
  const maskedChanged = pred.map((v, i) => (i === 0 ? v + 1 : v));
  assert.ok(Math.abs(loss(maskedChanged) - (sum - (pred[0] - target[0]) ** 2 + (pred[0] + 1 - target[0]) ** 2) / count) < 1e-5);
  // The gradient at unmasked predictions is exactly 0, at masked ones 2 (p - t) / count.
  const [tt, mt] = [tf.tensor(target, shape), tf.tensor(mask, shape)];
  const p0 = tf.tensor(pred, shape);
  const g = tf.grad((p: tf.Tensor) => maskedMse(p, tt, mt))(p0);
  const gv = g.dataSync();
  for (let i = 0; i < n; i++) assert.ok(Math.abs(gv[i] - (mask[i] ? (2 * (pred[i] - target[i])) / count : 0)) < 1e-5, `gradient ${i}`);
  tf.dispose([tt, mt, p0, g]);
});

test("mim: the same seed draws the same mask, another seed another (2D and 3D)", () => {
  for (const shape of [[16, 16], [8, 16, 16]]) {
    const a = drawPatchMask(shape, {}, new Random(1));
    assert.deepEqual(drawPatchMask(shape, {}, new Random(1)), a);
    assert.notDeepEqual(drawPatchMask(shape, {}, new Random(2)), a);
  }
});

test("mim: the example gives the masked input, the target and the mask of one image", () => {
  for (const cfg of [CFG2, CFG3]) {
    const images = HOST.images(cfg, DATA)(new Random(4), 1);
    const image = images.reshape([...cfg.shape, 1]);
    const pixels = Array.from(image.dataSync());
    const ex = mimExample(image, new Random(9));
    assert.deepEqual(ex.shape, cfg.shape);
    assert.deepEqual(Array.from(ex.target), pixels);
    // The mask is the one training would draw from the same rng.
    assert.deepEqual(ex.mask, drawPatchMask(cfg.shape, MIM_DEFAULTS, new Random(9)));
    const visible = pixels.filter((_, i) => !ex.mask[i]);
    const fill = visible.reduce((a, v) => a + v, 0) / visible.length;
    for (let i = 0; i < pixels.length; i++) assert.ok(Math.abs(ex.input[i] - (ex.mask[i] ? fill : pixels[i])) < 1e-6);
    const patches = cfg.shape.reduce((a, b) => a * (b / 4), 1);
    assert.ok(ex.label.includes(`${Math.round(0.6 * patches)} of ${patches} patches`), ex.label);
    tf.dispose([images, image]);
  }
});

test("mim: the model is the host U-Net with one linear output, seeded (2D and 3D)", () => {
  const pretext = mimPretext(HOST);
  for (const cfg of [CFG2, CFG3]) {
    const a = pretext.model(cfg, 0);
    const b = pretext.model(cfg, 0);
    const c = pretext.model(cfg, 1);
    assert.deepEqual(a.outputs[0].shape, [null, ...cfg.shape, 1]);
    const head = a.getLayer("head").getConfig();
    assert.equal(head.filters, 1);
    assert.equal(head.activation, "linear");
    for (const l of a.layers) assert.match(l.name, /^(input|enc\d+_|dec\d+_|head$)/, l.name);
    for (const w of a.weights) assert.deepEqual(weight(b, w.originalName), weight(a, w.originalName), w.originalName);
    assert.notDeepEqual(weight(c, "enc0_conv1/kernel"), weight(a, "enc0_conv1/kernel"));
    assert.notDeepEqual(weight(c, "head/kernel"), weight(a, "head/kernel"));
    [a, b, c].forEach((m) => m.dispose());
  }
  // What the pretraining depends on: the host, its budget and the resolved options.
  const deps = pretext.dependsOn(CFG2, DATA) as { options: unknown; settings: unknown; host: unknown };
  assert.deepEqual(deps, { host: HOST.dependsOn(CFG2, DATA), settings: HOST.settings(CFG2), options: { patch: 4, ratio: 0.6 } });
  assert.notDeepEqual(mimPretext(HOST, { ratio: 0.5 }).dependsOn(CFG2, DATA), deps);
});

test("mim: training runs (2D, 3D) without leaking tensors, reproducibly, and transfers all but the head", async () => {
  const pretext = mimPretext(HOST);
  for (const cfg of [CFG2, CFG3]) {
    const model = pretext.model(cfg, 2);
    const start = weight(model, "enc0_conv1/kernel");
    const tensors = tf.memory().numTensors;
    const result = await pretext.train(cfg, DATA, model, 2, tmpFile(`${cfg.shape.length}d`));
    assert.equal(tf.memory().numTensors, tensors, "tensor count after training");
    assert.equal(result.stepsRun, cfg.steps);
    assert.ok(result.history.loss.every(Number.isFinite), `losses ${result.history.loss}`);
    assert.notDeepEqual(weight(model, "enc0_conv1/kernel"), start, "the encoder trained");
    // Same seed, same batches and masks (drawn only from the trainer's rng): the same losses.
    const twin = pretext.model(cfg, 2);
    const again = await pretext.train(cfg, DATA, twin, 2, tmpFile(`${cfg.shape.length}d-twin`));
    assert.deepEqual(again.history.loss, result.history.loss);
    twin.dispose();

    const seg = HOST.network(cfg).unet(4, 1);
    const segHead = weight(seg, "head/kernel");
    const copied = transferWeights(model, seg, "all-but-head");
    assert.ok(copied.includes("enc0_conv1/kernel") && copied.includes("dec0_conv2/kernel") && copied.includes("enc1_bn2/moving_mean"));
    assert.ok(!copied.some((n) => n.startsWith("head")));
    for (const name of ["enc0_conv1/kernel", "enc1_conv2/kernel", "dec0_conv2/kernel"]) assert.deepEqual(weight(seg, name), weight(model, name), name);
    assert.deepEqual(weight(seg, "head/kernel"), segHead, "the segmentation head stays as initialised");
    model.dispose();
    seg.dispose();
  }
});

test("mim: a few steps lower the masked MSE on a fixed batch, below that of predicting the mean (0)", async () => {
  const cfg: Cfg = { ...CFG2, steps: 40, batch: 4 };
  const pretext = mimPretext(HOST);
  const model = pretext.model(cfg, 3);
  const batch = mimBatch(HOST.images(cfg, DATA)(new Random(123), 4), new Random(456));
  const lossOn = () => tf.tidy(() => maskedMse(model.apply(batch.x, { training: true }) as tf.Tensor, batch.target, batch.mask).dataSync()[0]);
  // Predicting 0 (the mean of a z-scored image) under the mask: the score of ignoring the context.
  const target = batch.target.dataSync();
  const mask = batch.mask.dataSync();
  let sum = 0;
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) {
      sum += target[i] ** 2;
      count++;
    }
  }
  const zero = sum / count;
  const before = lossOn();
  await pretext.train(cfg, DATA, model, 3, tmpFile("learn"));
  const after = lossOn();
  assert.ok(after < 0.8 * before && after < 0.8 * zero, `masked MSE ${before.toFixed(3)} -> ${after.toFixed(3)} (predicting 0: ${zero.toFixed(3)})`);
  tf.dispose(Object.values(batch));
  model.dispose();
});
