// Models Genesis restoration (pretext/models-genesis.ts) at tiny shapes. Each transformation is
// checked against a computation written out here with plain loops: the Bézier map against the
// Bernstein form and against the authors' recipe (sort samples, interpolate), shuffling against
// per-window multisets and a coordinate mask, painting against box membership of each pixel's
// coordinates. Then the pipeline (exact target, identity at probability 0, reproducible batches),
// the model (host U-Net, seeded), training (finite loss, no tensor leak, learning) and the
// transfer of encoder and decoder.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend, tf } from "../src/backend/index.js";
import { transferWeights } from "../src/models/transfer.js";
import { unetPart } from "../src/models/unet2d.js";
import type { GenericHost } from "../src/pretext/generic.js";
import {
  bezierIntensityMap,
  drawBezierCurve,
  drawInPaintBoxes,
  drawOutPaintBoxes,
  drawShuffleWindows,
  genesisBatch,
  genesisExample,
  genesisLoss,
  genesisPretext,
  genesisTransform,
  GENESIS_DEFAULTS,
  inPaint,
  minMaxNormalise,
  minMaxRestore,
  outPaint,
  resolveGenesisOptions,
  shuffleWindows,
  type BezierCurve,
  type Box,
} from "../src/pretext/models-genesis.js";
import { Random } from "../src/random.js";
import { train } from "../src/train/trainer.js";
import { tinyNetwork } from "./helpers/tiny-unet.js";

before(async () => {
  await initBackend({ quiet: true });
});

// --- A tiny host: seeded smooth random images, z-scored, and the host's U-Net (depth 2, 4 filters).

interface Cfg {
  dims: 2 | 3;
  shape: number[];
  steps: number;
  batch: number;
}
interface Data {
  images: Float32Array[];
}

const CFG2: Cfg = { dims: 2, shape: [16, 16], steps: 6, batch: 2 };
const CFG3: Cfg = { dims: 3, shape: [8, 16, 16], steps: 3, batch: 1 };

/** A sum of random plane waves over the grid, z-scored (as the hosts feed images). */
function smoothImage(shape: number[], seed: number): Float32Array {
  const rng = new Random(seed);
  const waves = Array.from({ length: 4 }, () => [...shape.map(() => rng.uniform(0.1, 0.6)), rng.uniform(0, 6)]);
  const n = shape.reduce((p, v) => p * v, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const coord = unravel(shape, i);
    out[i] = waves.reduce((s, w) => s + Math.sin(coord.reduce((t, c, a) => t + w[a] * c, 0) + w[shape.length]), 0);
  }
  const mean = out.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return out.map((v) => (v - mean) / sd);
}

function dataFor(c: Cfg): Data {
  return { images: [1, 2, 3, 4].map((s) => smoothImage(c.shape, 100 * c.dims + s)) };
}

const HOST: GenericHost<Cfg, Data> = {
  network: (c) => tinyNetwork(c.shape),
  images: (c, d) => (rng, batch) => {
    const n = d.images[0].length;
    const out = new Float32Array(batch * n);
    for (let b = 0; b < batch; b++) out.set(d.images[rng.int(0, d.images.length - 1)], b * n);
    return tf.tensor(out, [batch, ...c.shape, 1]);
  },
  settings: (c) => ({ steps: c.steps, learningRate: 0.01, batch: c.batch }),
  dependsOn: (c) => ({ dims: c.dims, shape: c.shape }),
};

// --- Plain helpers (independent of the module under test).

/** Coordinates of flat index i in a row-major grid. */
function unravel(shape: number[], i: number): number[] {
  const c = new Array(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    c[a] = i % shape[a];
    i = Math.floor(i / shape[a]);
  }
  return c;
}
const inBox = (coord: number[], b: Box) => coord.every((c, a) => c >= b.start[a] && c < b.start[a] + b.size[a]);
const boxVolume = (b: Box) => b.size.reduce((p, v) => p * v, 1);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const weight = (m: tf.LayersModel, name: string) => Array.from(m.weights.find((w) => w.originalName === name)!.read().dataSync());
const randomValues = (n: number, seed: number) => {
  const r = new Random(seed);
  return Float64Array.from({ length: n }, () => r.next());
};

/** Bernstein form of the cubic with P0 = (0,0), P3 = (1,1): sum_i C(3,i) (1-t)^(3-i) t^i P_i. */
function bernstein(c: BezierCurve, t: number): [number, number] {
  const P = [[0, 0], c.p1, c.p2, [1, 1]];
  const binom = [1, 3, 3, 1];
  let x = 0;
  let y = 0;
  for (let i = 0; i <= 3; i++) {
    const b = binom[i] * (1 - t) ** (3 - i) * t ** i;
    x += b * P[i][0];
    y += b * P[i][1];
  }
  return [x, y];
}

// --- Min-max scale

test("genesis: the min-max round trip returns the image, and the normalised copy spans [0, 1]", () => {
  const image = smoothImage([16, 16], 7).map((v) => 3 * v - 1.5);
  const { values, min, range } = minMaxNormalise(image);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  assert.equal(min, lo);
  assert.equal(range, hi - lo);
  assert.equal(Math.min(...values), 0);
  assert.equal(Math.max(...values), 1);
  const back = minMaxRestore(values, min, range);
  image.forEach((v, i) => assert.ok(Math.abs(back[i] - v) < 1e-5, `pixel ${i}: ${back[i]} vs ${v}`));
  // A constant image gets range 1 (so noise has a scale) and comes back unchanged.
  const flat = new Float32Array(10).fill(-0.25);
  const f = minMaxNormalise(flat);
  assert.equal(f.range, 1);
  assert.ok(f.values.every((v) => v === 0));
  assert.ok(minMaxRestore(f.values, f.min, f.range).every((v) => v === -0.25));
});

// --- Non-linear intensity

test("genesis: the Bézier map follows the Bernstein form, is monotonic and maps the ends to the ends (or swaps them)", () => {
  const rng = new Random(11);
  for (let k = 0; k < 12; k++) {
    const curve = drawBezierCurve(rng, k % 2); // flip probability 0 or 1: both kinds
    assert.equal(curve.flipped, k % 2 === 1);
    for (const p of [curve.p1, curve.p2]) assert.ok(p.every((v) => v >= 0 && v < 1));
    const map = bezierIntensityMap(curve);
    // On the curve: the map at x(t) is y(t) (increasing) or y(1 - t) (flipped).
    for (let j = 0; j <= 50; j++) {
      const t = j / 50;
      const [x] = bernstein(curve, t);
      const y = bernstein(curve, curve.flipped ? 1 - t : t)[1];
      assert.ok(Math.abs(map(x) - y) < 1e-6, `curve ${k}, t ${t}: ${map(x)} vs ${y}`);
    }
    // Ends: 0 -> 0 and 1 -> 1, or swapped.
    const [at0, at1] = [map(0), map(1)];
    assert.ok(Math.abs(at0 - (curve.flipped ? 1 : 0)) < 1e-9 && Math.abs(at1 - (curve.flipped ? 0 : 1)) < 1e-9, `ends ${at0}, ${at1}`);
    // Monotonic on a fine grid (non-decreasing, or non-increasing when flipped), within [0, 1].
    let prev = map(0);
    for (let j = 1; j <= 2000; j++) {
      const v = map(j / 2000);
      assert.ok(v >= -1e-12 && v <= 1 + 1e-12);
      assert.ok(curve.flipped ? v <= prev + 1e-12 : v >= prev - 1e-12, `curve ${k} not monotonic at ${j / 2000}`);
      prev = v;
    }
    // The authors' recipe: sample the curve, sort the x (and, unflipped, the y) samples, interpolate.
    const n = 20001;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let j = 0; j < n; j++) {
      const [x, y] = bernstein(curve, j / (n - 1));
      xs.push(x);
      ys.push(y);
    }
    const sx = sorted(xs);
    const sy = curve.flipped ? sorted(ys).reverse() : sorted(ys);
    for (let j = 1; j < 40; j++) {
      const v = j / 40;
      let i = 0;
      while (i < n - 2 && sx[i + 1] < v) i++;
      const w = sx[i + 1] > sx[i] ? (v - sx[i]) / (sx[i + 1] - sx[i]) : 0;
      const interp = sy[i] + w * (sy[i + 1] - sy[i]);
      assert.ok(Math.abs(map(v) - interp) < 1e-5, `curve ${k} at ${v}: ${map(v)} vs the sorted-sample recipe ${interp}`);
    }
  }
});

// --- Local pixel shuffling

for (const shape of [[16, 16], [8, 16, 16]]) {
  test(`genesis: local shuffling permutes each window's pixels and leaves every other pixel unchanged (${shape.join("x")})`, () => {
    const n = shape.reduce((p, v) => p * v, 1);
    const rng = new Random(21);
    assert.deepEqual(drawShuffleWindows(shape, rng, 0, 0.1), [], "coverage 0: no window");
    const windows = drawShuffleWindows(shape, rng, 0.8, 0.1);
    assert.ok(windows.length > 0);
    // In bounds, at least 2 pixels, sides 1..max(2, n/10), pairwise disjoint (coordinate mask).
    const owner = new Int32Array(n).fill(-1);
    windows.forEach((w, k) => {
      assert.ok(boxVolume(w) >= 2);
      w.size.forEach((s, a) => assert.ok(s >= 1 && s <= Math.max(2, Math.floor(shape[a] / 10)) && w.start[a] >= 0 && w.start[a] + s <= shape[a]));
      for (let i = 0; i < n; i++) {
        if (!inBox(unravel(shape, i), w)) continue;
        assert.equal(owner[i], -1, `pixel ${i} in windows ${owner[i]} and ${k}`);
        owner[i] = k;
      }
    });
    const covered = owner.filter((o) => o >= 0).length;
    // Each tile of >= 2 pixels is kept with probability 0.8; one-pixel tiles (sides 1..2: 1 in 4) never.
    assert.ok(covered >= 0.55 * n && covered <= 0.9 * n, `windows cover ${covered} of ${n} pixels`);
    assert.equal(covered, windows.reduce((s, w) => s + boxVolume(w), 0));

    const original = randomValues(n, 5);
    const values = Float64Array.from(original);
    shuffleWindows(values, shape, windows, rng);
    for (let i = 0; i < n; i++) if (owner[i] === -1) assert.equal(values[i], original[i], `pixel ${i} outside every window changed`);
    windows.forEach((_, k) => {
      const idx = [...owner.keys()].filter((i) => owner[i] === k);
      assert.deepEqual(sorted(idx.map((i) => values[i])), sorted(idx.map((i) => original[i])), `window ${k} is not a permutation`);
    });
    const moved = original.filter((v, i) => values[i] !== v).length;
    assert.ok(moved > 0.25 * n, `only ${moved} pixels moved`);
  });
}

// --- In-painting and out-painting

for (const shape of [[16, 16], [8, 16, 16]]) {
  test(`genesis: in-painting changes exactly the pixels inside its boxes, out-painting exactly those outside (${shape.join("x")})`, () => {
    const n = shape.reduce((p, v) => p * v, 1);
    const rng = new Random(31);
    for (let trial = 0; trial < 4; trial++) {
      // In-painting: sides n/6..n/3, inside the image.
      const boxes = drawInPaintBoxes(shape, rng);
      assert.ok(boxes.length <= 5);
      for (const b of boxes) b.size.forEach((s, a) => assert.ok(s >= Math.max(1, Math.floor(shape[a] / 6)) && s <= Math.max(1, Math.floor(shape[a] / 3)) && b.start[a] >= 0 && b.start[a] + s <= shape[a], `in-paint box ${JSON.stringify(b)}`));
      const original = randomValues(n, 40 + trial);
      const values = Float64Array.from(original);
      inPaint(values, shape, boxes, rng);
      let inside = 0;
      let changed = 0;
      for (let i = 0; i < n; i++) {
        const isIn = boxes.some((b) => inBox(unravel(shape, i), b));
        inside += isIn ? 1 : 0;
        if (values[i] !== original[i]) {
          changed++;
          assert.ok(isIn, `in-painting changed pixel ${i} outside its boxes`);
          assert.ok(values[i] >= 0 && values[i] < 1);
        }
      }
      assert.equal(changed, inside, "every pixel in a box is replaced by noise");
      if (boxes.length === 1) assert.equal(inside, boxVolume(boxes[0]));

      // Out-painting: 1..5 kept boxes of side n - (3n/7..4n/7).
      const kept = drawOutPaintBoxes(shape, rng);
      assert.ok(kept.length >= 1 && kept.length <= 5);
      for (const b of kept) b.size.forEach((s, a) => assert.ok(s >= shape[a] - Math.floor((4 * shape[a]) / 7) && s <= shape[a] - Math.floor((3 * shape[a]) / 7) && b.start[a] >= 0 && b.start[a] + s <= shape[a], `out-paint box ${JSON.stringify(b)}`));
      const painted = Float64Array.from(original);
      outPaint(painted, shape, kept, rng);
      let outside = 0;
      let changedOut = 0;
      for (let i = 0; i < n; i++) {
        const isIn = kept.some((b) => inBox(unravel(shape, i), b));
        outside += isIn ? 0 : 1;
        if (painted[i] !== original[i]) {
          changedOut++;
          assert.ok(!isIn, `out-painting changed pixel ${i} inside a kept box`);
        }
      }
      assert.equal(changedOut, outside, "every pixel outside the kept boxes is replaced by noise");
      if (kept.length === 1) assert.equal(outside, n - boxVolume(kept[0]));
      assert.ok(outside > 0);
    }
  });
}

// --- The pipeline

const NONE = { nonlinear: 0, shuffle: 0, paint: 0 };

test("genesis: with every probability 0 the input is the image, exactly; in-painting alone changes only its boxes", () => {
  const image = smoothImage([16, 16], 3);
  const none = genesisTransform(image, [16, 16], new Random(1), resolveGenesisOptions(NONE));
  assert.deepEqual(none.applied, {});
  assert.deepEqual(Array.from(none.input), Array.from(image));

  const only = genesisTransform(image, [16, 16], new Random(2), resolveGenesisOptions({ ...NONE, paint: 1, inPaint: 1 }));
  const boxes = only.applied.inPaint!;
  assert.ok(boxes.length > 0);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  for (let i = 0; i < image.length; i++) {
    const isIn = boxes.some((b) => inBox(unravel([16, 16], i), b));
    if (!isIn) assert.equal(only.input[i], image[i], `pixel ${i} outside the boxes is not bit-exact`);
    // Noise is uniform over the image's own range (back on its scale).
    else assert.ok(only.input[i] >= lo - 1e-5 && only.input[i] <= hi + 1e-5);
  }
});

test("genesis: transformed pixels return to the image's scale (intensity map alone; shuffling alone)", () => {
  const shape = [8, 16, 16];
  const image = smoothImage(shape, 8).map((v) => 2.5 * v + 0.7);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  for (const flip of [0, 1]) {
    const { input, applied } = genesisTransform(image, shape, new Random(6 + flip), resolveGenesisOptions({ ...NONE, nonlinear: 1, flip }));
    const c = applied.nonlinear!;
    assert.equal(c.flipped, flip === 1);
    // The map by hand: invert the Bernstein x(t) by bisection, read y (at 1 - t when flipped).
    const F = (v: number) => {
      let [a, b] = [0, 1];
      for (let k = 0; k < 60; k++) [a, b] = bernstein(c, (a + b) / 2)[0] < v ? [(a + b) / 2, b] : [a, (a + b) / 2];
      return bernstein(c, flip ? 1 - a : a)[1];
    };
    image.forEach((x, i) => {
      const expected = lo + F((x - lo) / (hi - lo)) * (hi - lo);
      assert.ok(Math.abs(input[i] - expected) < 1e-5, `pixel ${i}: ${input[i]} vs ${expected}`);
    });
  }
  const shuffled = genesisTransform(image, shape, new Random(8), resolveGenesisOptions({ ...NONE, shuffle: 1 }));
  assert.ok(shuffled.applied.shuffle!.length > 0);
  const [a, b] = [sorted(Array.from(shuffled.input)), sorted(Array.from(image))];
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, "shuffling alone permutes the image's values"));
  assert.ok(Array.from(image).filter((v, i) => shuffled.input[i] !== v).length > image.length / 4);
});

test("genesis: a batch's target is the drawn images exactly, its input transformed; the same rng gives the same batch", () => {
  const data = dataFor(CFG2);
  const draw = HOST.images(CFG2, data);
  const opts = resolveGenesisOptions({ nonlinear: 1, shuffle: 1, paint: 1 });
  const batch = genesisBatch(draw, 3, new Random(9), opts);
  const plain = draw(new Random(9), 3); // the images come first from the rng
  assert.deepEqual(batch.target.shape, [3, 16, 16, 1]);
  assert.deepEqual(batch.input.shape, [3, 16, 16, 1]);
  assert.deepEqual(Array.from(batch.target.dataSync()), Array.from(plain.dataSync()));
  const input = batch.input.dataSync();
  const target = batch.target.dataSync();
  for (let b = 0; b < 3; b++) {
    const changed = Array.from({ length: 256 }, (_, i) => input[b * 256 + i] !== target[b * 256 + i]).filter(Boolean).length;
    assert.ok(changed > 64, `image ${b}: only ${changed} pixels transformed`);
  }
  const again = genesisBatch(draw, 3, new Random(9), opts);
  assert.deepEqual(Array.from(again.input.dataSync()), Array.from(input));
  const other = genesisBatch(draw, 3, new Random(10), opts);
  assert.notDeepEqual(Array.from(other.input.dataSync()), Array.from(input));
  tf.dispose([batch.input, batch.target, plain, again.input, again.target, other.input, other.target]);
});

test("genesis: the example gives one image's input, target and label (2D and 3D)", () => {
  for (const c of [CFG2, CFG3]) {
    const image = tf.tensor(dataFor(c).images[0], [...c.shape, 1]);
    const ex = genesisExample(image, new Random(4), { nonlinear: 1, shuffle: 1, paint: 1, inPaint: 0 });
    assert.deepEqual(ex.input.shape, image.shape);
    assert.deepEqual(Array.from(ex.target.dataSync()), Array.from(image.dataSync()));
    assert.match(ex.label, /local shuffling .* \+ non-linear intensity .* \+ out-painting/);
    assert.ok(ex.applied.outPaint!.every((b) => b.start.length === c.shape.length));
    const id = genesisExample(image, new Random(4), NONE);
    assert.equal(id.label, "no transformation (identity)");
    tf.dispose([image, ex.input, ex.target, id.input, id.target]);
  }
});

test("genesis: options are checked, and dependsOn covers host, settings and options", () => {
  assert.throws(() => resolveGenesisOptions({ paint: 1.5 }), /paint/);
  const p = genesisPretext(HOST, { shuffle: 0.3 });
  assert.equal(p.name, "genesis");
  const dep = p.dependsOn(CFG2, dataFor(CFG2)) as { host: unknown; settings: unknown; options: typeof GENESIS_DEFAULTS };
  assert.deepEqual(dep.host, { dims: 2, shape: [16, 16] });
  assert.deepEqual(dep.settings, { steps: 6, learningRate: 0.01, batch: 2 });
  assert.deepEqual(dep.options, { ...GENESIS_DEFAULTS, shuffle: 0.3 });
});

// --- The model, training and transfer

test("genesis: the model is the host U-Net with one output channel, seeded (2D and 3D)", () => {
  const p = genesisPretext(HOST);
  for (const c of [CFG2, CFG3]) {
    const a = p.model(c, 0);
    const b = p.model(c, 0);
    const d = p.model(c, 1);
    assert.deepEqual(a.outputs[0].shape, [null, ...c.shape, 1]);
    for (const w of a.weights) {
      assert.notEqual(unetPart(w.originalName), "other", `${w.originalName} is not a U-Net layer`);
      assert.deepEqual(weight(b, w.originalName), weight(a, w.originalName), w.originalName);
    }
    assert.notDeepEqual(weight(d, "enc0_conv1/kernel"), weight(a, "enc0_conv1/kernel"));
    assert.notDeepEqual(weight(d, "head/kernel"), weight(a, "head/kernel"));
    const y = tf.tidy(() => (a.predict(tf.zeros([1, ...c.shape, 1])) as tf.Tensor).shape);
    assert.deepEqual(y, [1, ...c.shape, 1]);
    [a, b, d].forEach((m) => m.dispose());
  }
});

for (const c of [CFG2, CFG3]) {
  test(`genesis: train() runs with a finite loss and no tensor leak, and encoder + decoder transfer (${c.dims}D)`, async () => {
    const p = genesisPretext(HOST);
    const model = p.model(c, 2);
    const initial = weight(model, "enc0_conv1/kernel");
    const tensors = tf.memory().numTensors;
    const result = await p.train(c, dataFor(c), model, 2, "");
    assert.equal(tf.memory().numTensors, tensors, "tensor count changed across train()");
    assert.equal(result.stepsRun, c.steps);
    assert.equal(result.history.loss.length, c.steps);
    assert.ok(result.history.loss.every(Number.isFinite));
    const trained = weight(model, "enc0_conv1/kernel");
    assert.notDeepEqual(trained, initial, "training moved the encoder");

    const seg = HOST.network(c).unet(4, 1);
    const copied = transferWeights(model, seg, "all-but-head");
    assert.ok(copied.includes("enc0_conv1/kernel") && copied.includes("dec0_conv2/kernel") && copied.includes("enc1_bn2/moving_mean"));
    assert.ok(!copied.some((n) => n.startsWith("head")));
    assert.deepEqual(weight(seg, "enc0_conv1/kernel"), trained);
    assert.deepEqual(weight(seg, "dec0_conv1/kernel"), weight(model, "dec0_conv1/kernel"));
    model.dispose();
    seg.dispose();
  });
}

test("genesis: a few steps on a fixed batch lower the restoration loss", async () => {
  const model = genesisPretext(HOST).model(CFG2, 5);
  const fixed = genesisBatch(HOST.images(CFG2, dataFor(CFG2)), 4, new Random(3), GENESIS_DEFAULTS);
  const lossNow = () => tf.tidy(() => genesisLoss(model, fixed).dataSync()[0]);
  const before = lossNow();
  const result = await train(
    { model, sample: () => ({ input: fixed.input.clone(), target: fixed.target.clone() }), loss: (b) => genesisLoss(model, b) },
    { steps: 25, learningRate: 0.01, seed: 1 },
  );
  const after = lossNow();
  assert.ok(after < 0.7 * before, `loss ${before} -> ${after} (trainer: ${result.history.loss[0]} -> ${result.history.loss.at(-1)})`);
  // The same MSE computed by hand from the network's output.
  const out = tf.tidy(() => (model.apply(fixed.input, { training: true }) as tf.Tensor).dataSync());
  const t = fixed.target.dataSync();
  const mse = Array.from(out).reduce((s, v, i) => s + (v - t[i]) ** 2, 0) / t.length;
  assert.ok(Math.abs(mse - after) < 1e-4 * Math.max(1, mse), `${mse} vs ${after}`);
  tf.dispose([fixed.input, fixed.target]);
  model.dispose();
});
