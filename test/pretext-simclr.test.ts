// The SimCLR pretext (pretext/simclr.ts) on a tiny 2D host (16 x 16 slices, U-Net depth 2, 4
// base filters): NT-Xent against a plain-JS double loop and against its derived minimum, the
// views against plain-JS flips, bilinear crops and intensity maps of their source image, the
// network (encoder layers by name, seeded heads), training without leaks, and transfer of the
// trained encoder into a segmentation U-Net.
import assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { before, test } from "node:test";
import { initBackend, tf } from "../src/backend/index.js";
import { transferWeights } from "../src/models/transfer.js";
import type { GenericHost } from "../src/pretext/generic.js";
import { applySimclrViews, ntXent, resolveSimclrOptions, SIMCLR_FLIPS_ONLY, simclrExample, simclrPretext, simclrViews, type SimclrView } from "../src/pretext/simclr.js";
import { Random } from "../src/random.js";
import { train } from "../src/train/trainer.js";
import { tinyNetwork } from "./helpers/tiny-unet.js";

before(async () => {
  await initBackend({ quiet: true });
});

const S = 16;

/** A smooth random slice (sum of plane waves), S x S, y-major. */
function smoothImage(seed: number): Float32Array {
  const rng = new Random(seed);
  const waves = Array.from({ length: 4 }, () => [rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), rng.uniform(0, 6)]);
  const out = new Float32Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[y * S + x] = waves.reduce((s, [a, b, c]) => s + Math.sin(a * x + b * y + c), 0);
  return out;
}

interface Cfg {
  dims: 2 | 3;
  steps: number;
  batch: number;
  learningRate: number;
}
type Data = Float32Array[];

const CFG: Cfg = { dims: 2, steps: 6, batch: 4, learningRate: 1e-3 };
const DATA: Data = Array.from({ length: 6 }, (_, i) => smoothImage(100 + i));

/** A tiny host: 2D slices (or, for the 3D error, 8 x 16 x 16 volumes) drawn with the rng only. */
const HOST: GenericHost<Cfg, Data> = {
  network: (c) => tinyNetwork(c.dims === 2 ? [S, S] : [8, S, S]),
  images: (c, data) => (rng, batch) => {
    if (c.dims !== 2) throw new Error("the test host has no volumes");
    const x = new Float32Array(batch * S * S);
    for (let b = 0; b < batch; b++) x.set(data[rng.int(0, data.length - 1)], b * S * S);
    return tf.tensor4d(x, [batch, S, S, 1]);
  },
  settings: (c) => ({ steps: c.steps, learningRate: c.learningRate, batch: c.batch }),
  dependsOn: (c, data) => ({ dims: c.dims, images: data.length }),
};

const weightValues = (m: tf.LayersModel) => new Map(m.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
const weightOf = (m: tf.LayersModel, name: string) => Array.from(m.weights.find((w) => w.originalName === name)!.read().dataSync());
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tol);

/** Plain-JS NT-Xent: cosine similarities, a loop over anchors and one over the other views. */
function ntXentLoops(z: number[][], tau: number): number {
  const m = z.length;
  const n = m / 2;
  const unit = z.map((r) => {
    const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0));
    return r.map((v) => v / norm);
  });
  const cos = (i: number, k: number) => unit[i].reduce((s, v, c) => s + v * unit[k][c], 0);
  let total = 0;
  for (let i = 0; i < m; i++) {
    let denominator = 0;
    for (let k = 0; k < m; k++) if (k !== i) denominator += Math.exp(cos(i, k) / tau);
    total += -Math.log(Math.exp(cos(i, (i + n) % m) / tau) / denominator);
  }
  return total / m;
}

const lossOf = (z: number[][], tau: number) => tf.tidy(() => ntXent(tf.tensor2d(z), tau).dataSync()[0]);

test("simclr: NT-Xent equals a plain-JS double loop (2N = 6, d = 5, two temperatures) and ignores embedding lengths", () => {
  const rng = new Random(7);
  const z = Array.from({ length: 6 }, () => Array.from({ length: 5 }, () => rng.normal()));
  for (const tau of [0.1, 0.5]) {
    const expected = ntXentLoops(z, tau);
    assert.ok(Math.abs(lossOf(z, tau) - expected) < 1e-4 * Math.max(1, expected), `tau ${tau}: ${lossOf(z, tau)} vs ${expected}`);
    assert.ok(Math.abs(lossOf(z.map((r, i) => r.map((v) => v * (i + 2))), tau) - expected) < 1e-4 * Math.max(1, expected));
  }
  assert.throws(() => lossOf(z.slice(0, 5), 0.1), /even number/);
  assert.throws(() => lossOf(z.slice(0, 2), 0.1), />= 4/);
});

test("simclr: NT-Xent of matching partners: orthogonal pairs give log(1 + (2N-2)e^(-1/tau)), a simplex the minimum log(1 + (2N-2)e^(-N/((N-1)tau)))", () => {
  const n = 3;
  // Partners equal, images one-hot (cos 0 between images).
  const oneHot = Array.from({ length: 2 * n }, (_, i) => Array.from({ length: n }, (_, c) => (c === i % n ? 1 : 0)));
  // Partners equal, images on a regular simplex (centred one-hots: cos -1/(n-1) between images).
  const simplex = oneHot.map((r) => r.map((v) => v - 1 / n));
  for (const tau of [0.5, 1]) {
    const orthogonal = Math.log(1 + (2 * n - 2) * Math.exp(-1 / tau));
    const minimum = Math.log(1 + (2 * n - 2) * Math.exp(-n / ((n - 1) * tau)));
    assert.ok(Math.abs(lossOf(oneHot, tau) - orthogonal) < 1e-5, `tau ${tau}: one-hot ${lossOf(oneHot, tau)} vs ${orthogonal}`);
    assert.ok(Math.abs(lossOf(simplex, tau) - minimum) < 1e-5, `tau ${tau}: simplex ${lossOf(simplex, tau)} vs ${minimum}`);
    assert.ok(Math.abs(ntXentLoops(simplex, tau) - minimum) < 1e-9);
    // Nothing beats the minimum: random embeddings, a perturbed simplex, partners mismatched.
    const rng = new Random(11);
    for (let trial = 0; trial < 5; trial++) {
      const random = Array.from({ length: 2 * n }, () => Array.from({ length: 4 }, () => rng.normal()));
      assert.ok(lossOf(random, tau) > minimum);
      assert.ok(lossOf(simplex.map((r) => r.map((v) => v + 0.05 * rng.normal())), tau) > minimum);
    }
    const mismatched = [simplex[0], simplex[1], simplex[2], simplex[4], simplex[5], simplex[3]];
    assert.ok(lossOf(mismatched, tau) > orthogonal + 1);
  }
  // At tau = 0.1 both are ~0 (the logits are 10 and float32 resolves ~1e-6 of them).
  assert.ok(Math.abs(lossOf(oneHot, 0.1) - Math.log(1 + 4 * Math.exp(-10))) < 2e-5);
});

/** The image [S, S] y-major, mirrored along x and/or y. */
const flipped = (img: Float32Array, flipX: boolean, flipY: boolean) => {
  const out = new Float32Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[y * S + x] = img[(flipY ? S - 1 - y : y) * S + (flipX ? S - 1 - x : x)];
  return out;
};
const FLIPS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

test("simclr: with crop fraction 1 and no intensity change or noise, each view is its own image or a flip of it; both views of image i are rows i and N + i", () => {
  const o = resolveSimclrOptions(SIMCLR_FLIPS_ONLY);
  const images = DATA.slice(0, 3);
  const seen = new Set<string>();
  for (let seed = 1; seed <= 4; seed++) {
    const x = tf.tensor4d(Float32Array.from(images.flatMap((d) => Array.from(d))), [3, S, S, 1]);
    const views = simclrViews(x, new Random(seed), o);
    assert.deepEqual(views.shape, [6, S, S, 1]);
    const data = views.dataSync();
    for (let k = 0; k < 6; k++) {
      const view = data.subarray(k * S * S, (k + 1) * S * S);
      const matches = images.flatMap((img, i) => FLIPS.filter(([fx, fy]) => close(view, flipped(img, fx, fy), 1e-5)).map(([fx, fy]) => ({ i, flip: `${fx}${fy}` })));
      assert.equal(matches.length, 1, `view ${k} matches ${JSON.stringify(matches)}`);
      assert.equal(matches[0].i, k % 3, `view ${k} comes from image ${matches[0].i}`);
      seen.add(matches[0].flip);
    }
    tf.dispose([x, views]);
  }
  assert.equal(seen.size, 4, `flips seen: ${[...seen]}`);
});

/** Bilinear sample of img [S, S] at pixel coordinates (sy, sx) inside the image. */
function bilinear(img: Float32Array, sy: number, sx: number): number {
  const y0 = Math.min(Math.floor(sy), S - 2);
  const x0 = Math.min(Math.floor(sx), S - 2);
  const fy = sy - y0;
  const fx = sx - x0;
  const at = (y: number, x: number) => img[y * S + x];
  return (at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx) * (1 - fy) + (at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx) * fy;
}

const plainView = (crop: SimclrView["crop"], flipX = false, flipY = false): SimclrView => ({ crop, flipX, flipY, gamma: 1, gain: 1, offset: 0, noise: 0 });

test("simclr: a crop (flipped or not) is the plain-JS bilinear resampling of its box to the full size", () => {
  const img = DATA[0];
  const crop = { y1: 0.1, x1: 0.25, y2: 0.7, x2: 0.9 };
  const x = tf.tensor4d(img, [1, S, S, 1]);
  const views = applySimclrViews(x, [0, 0], [plainView(crop), plainView(crop, true, false)], new Random(1));
  const data = views.dataSync();
  const span = (lo: number, hi: number, i: number) => (lo + (i * (hi - lo)) / (S - 1)) * (S - 1);
  for (let y = 0; y < S; y++) {
    for (let xi = 0; xi < S; xi++) {
      const straight = bilinear(img, span(crop.y1, crop.y2, y), span(crop.x1, crop.x2, xi));
      const mirrored = bilinear(img, span(crop.y1, crop.y2, y), span(crop.x2, crop.x1, xi));
      assert.ok(Math.abs(data[y * S + xi] - straight) < 1e-4, `(${y}, ${xi}): ${data[y * S + xi]} vs ${straight}`);
      assert.ok(Math.abs(data[S * S + y * S + xi] - mirrored) < 1e-4);
    }
  }
  tf.dispose([x, views]);
});

test("simclr: intensity jitter maps the image's own [min, max] range (gamma, gain, offset) and adds noise drawn from the rng in view and pixel order", () => {
  // A z-scored-like image (negative values): the jitter works in the image's own range.
  const img = DATA[1].map((v) => 3 * v - 1);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of img) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const full = { y1: 0, x1: 0, y2: 1, x2: 1 };
  const jitter: SimclrView = { ...plainView(full), gamma: 1.5, gain: 0.9, offset: 0.05 };
  const noisy: SimclrView = { ...plainView(full), noise: 0.1 };
  // A small crop is jittered in the range of the whole image, not its own (a dark crop stays dark).
  const crop = { y1: 0.5, x1: 0.5, y2: 0.75, x2: 0.75 };
  const croppedJitter: SimclrView = { ...jitter, crop };
  const x = tf.tensor4d(img, [1, S, S, 1]);
  const views = applySimclrViews(x, [0, 0, 0, 0], [jitter, plainView(full), noisy, croppedJitter], new Random(42));
  const data = views.dataSync();
  const draws = new Random(42);
  const noise = Array.from({ length: S * S }, () => 0.1 * draws.normal());
  const curve = (v: number) => lo + (hi - lo) * (0.9 * ((v - lo) / (hi - lo)) ** 1.5 + 0.05);
  const span = (a: number, b: number, i: number) => (a + (i * (b - a)) / (S - 1)) * (S - 1);
  for (let p = 0; p < S * S; p++) {
    assert.ok(Math.abs(data[p] - curve(img[p])) < 1e-4);
    assert.ok(Math.abs(data[S * S + p] - img[p]) < 1e-4);
    assert.ok(Math.abs(data[2 * S * S + p] - (img[p] + (hi - lo) * noise[p])) < 1e-4);
    const sampled = bilinear(img, span(crop.y1, crop.y2, Math.floor(p / S)), span(crop.x1, crop.x2, p % S));
    assert.ok(Math.abs(data[3 * S * S + p] - curve(sampled)) < 1e-4);
  }
  tf.dispose([x, views]);
});

test("simclr: views are drawn from the rng only (same seed, same views; another seed, others)", () => {
  const x = tf.tensor4d(Float32Array.from(DATA.slice(0, 2).flatMap((d) => Array.from(d))), [2, S, S, 1]);
  const [a, b, c] = [1, 1, 2].map((seed) => simclrViews(x, new Random(seed), resolveSimclrOptions()));
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  assert.ok(!close(a.dataSync(), c.dataSync(), 1e-3));
  tf.dispose([x, a, b, c]);
});

test("simclr: the example gives two views of one image", () => {
  const img = DATA[2];
  const image = tf.tensor3d(img, [S, S, 1]);
  const plain = simclrExample(image, new Random(3), SIMCLR_FLIPS_ONLY);
  assert.equal(plain.params.length, 2);
  for (const v of plain.views) {
    assert.deepEqual(v.shape, [S, S, 1]);
    assert.ok(FLIPS.some(([fx, fy]) => close(v.dataSync(), flipped(img, fx, fy), 1e-5)));
  }
  const full = simclrExample(image, new Random(3));
  assert.match(full.label, /two views of one image/);
  assert.ok(!close(full.views[0].dataSync(), full.views[1].dataSync(), 1e-2), "the two views differ");
  assert.ok(!close(full.views[0].dataSync(), img, 1e-2), "a view differs from the image");
  assert.throws(() => simclrExample(image.expandDims(0), new Random(1)), /one 2D image/);
  tf.dispose([image, ...plain.views, ...full.views]);
});

test("simclr: the model is the U-Net's encoder by name + a seeded simclr_ projector; same seed same weights; decoder weights freed", () => {
  const pretext = simclrPretext(HOST);
  assert.equal(pretext.name, "simclr");
  const deps = pretext.dependsOn(CFG, DATA) as { host: unknown; settings: unknown; options: { temperature: number } };
  assert.deepEqual(deps.host, HOST.dependsOn(CFG, DATA));
  assert.equal(deps.options.temperature, 0.1);

  const tensors = tf.memory().numTensors;
  const a = pretext.model(CFG, 0);
  assert.equal(tf.memory().numTensors - tensors, a.weights.length, "only the model's own weights stay allocated");
  const b = pretext.model(CFG, 0);
  const c = pretext.model(CFG, 1);
  assert.deepEqual(a.outputs[0].shape, [null, 32]);
  const names = a.layers.map((l) => l.name);
  for (const name of ["enc0_conv1", "enc0_bn1", "enc1_relu2", "simclr_pool", "simclr_hidden", "simclr_projection"]) assert.ok(names.includes(name), name);
  for (const name of names) assert.match(name, /^(input|enc\d+_|simclr_)/, name);
  const [va, vb, vc] = [a, b, c].map(weightValues);
  assert.deepEqual(va, vb);
  for (const name of ["enc0_conv1/kernel", "simclr_hidden/kernel", "simclr_projection/kernel"]) assert.notDeepEqual(va.get(name), vc.get(name), name);
  // The U-Net of the same seed has the same encoder: the pretext starts from the host's initialisation.
  const unet = HOST.network(CFG).unet(4, 0);
  assert.deepEqual(weightOf(unet, "enc1_conv2/kernel"), va.get("enc1_conv2/kernel"));
  [a, b, c, unet].forEach((m) => m.dispose());
  assert.equal(tf.memory().numTensors, tensors);
  assert.throws(() => simclrPretext(HOST, { temperature: 0 }), /temperature/);
  assert.throws(() => simclrPretext(HOST, { cropArea: [0.5, 1.2] }), /cropArea/);
});

test("simclr: a 3D host gets an error naming PGL's global-only BYOL as the 3D contrastive baseline", async () => {
  const pretext = simclrPretext(HOST);
  const cfg3: Cfg = { ...CFG, dims: 3 };
  assert.throws(() => pretext.model(cfg3, 1), /2D only.*local-consistency\.ts.*"global"/s);
  const model = pretext.model(CFG, 1);
  await assert.rejects(async () => pretext.train(cfg3, DATA, model, 1, path.join(os.tmpdir(), "simclr-3d.ckpt")), /local-consistency\.ts/);
  await assert.rejects(async () => pretext.train({ ...CFG, batch: 1 }, DATA, model, 1, path.join(os.tmpdir(), "simclr-b1.ckpt")), /no negatives/);
  model.dispose();
});

test("simclr: train() runs without leaking tensors, and the trained encoder transfers into a segmentation U-Net", async () => {
  const pretext = simclrPretext(HOST);
  const model = pretext.model(CFG, 2);
  const initial = weightOf(model, "enc0_conv1/kernel");
  const tensors = tf.memory().numTensors;
  const result = await pretext.train(CFG, DATA, model, 2, path.join(os.tmpdir(), `simclr-test-${process.pid}.ckpt`));
  assert.equal(tf.memory().numTensors, tensors, "tensor count after training");
  assert.equal(result.stepsRun, CFG.steps);
  assert.ok(result.history.loss.every(Number.isFinite));
  // 2N = 8 views: chance level is log(7); every step's loss is in a sane range.
  assert.ok(result.history.loss.every((l) => l > 0 && l < 10), `${result.history.loss}`);

  const trained = weightOf(model, "enc0_conv1/kernel");
  assert.ok(!close(trained, initial, 1e-6), "training moved the encoder");
  const target = HOST.network(CFG).unet(4, 1);
  const copied = transferWeights(model, target, "encoder");
  assert.ok(copied.includes("enc0_conv1/kernel") && copied.includes("enc1_bn2/moving_mean"));
  assert.ok(copied.every((n) => n.startsWith("enc")));
  assert.deepEqual(weightOf(target, "enc0_conv1/kernel"), trained);
  [model, target].forEach((m) => m.dispose());
});

test("simclr: a few steps on a fixed batch lower its NT-Xent loss", async () => {
  const pretext = simclrPretext(HOST);
  const model = pretext.model(CFG, 3);
  const images = HOST.images(CFG, DATA)(new Random(5), 4) as tf.Tensor4D;
  const fixed = simclrViews(images, new Random(6), resolveSimclrOptions());
  const lossNow = () => tf.tidy(() => ntXent(model.apply(fixed, { training: true }) as tf.Tensor2D, 0.1).dataSync()[0]);
  const start = lossNow();
  await train(
    { model, sample: () => ({ x: fixed.clone() }), loss: (b) => ntXent(model.apply(b.x, { training: true }) as tf.Tensor2D, 0.1) },
    { steps: 12, learningRate: 1e-2, seed: 1, label: "simclr fixed batch" },
  );
  const end = lossNow();
  assert.ok(end < 0.7 * start, `loss ${start} -> ${end}`);
  tf.dispose([images, fixed]);
  model.dispose();
});
