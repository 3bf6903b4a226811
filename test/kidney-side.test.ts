// The kidney-asymmetry pretext: landmarks from thresholds, sections from the right place on each
// side (mirrored or not), the authors' label-cropped sections, balanced same/other-side pairs,
// the contrastive loss by hand, and a siamese branch that is the segmentation U-Net's encoder.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/index.js";
import type { Volume } from "../src/io/volume.js";
import { transferWeights } from "../src/models/transfer.js";
import { buildSiameseEncoder2D, contrastiveLoss, pairDistances } from "../src/models/siamese.js";
import { buildUNet2D } from "../src/models/unet2d.js";
import { DEFAULT_SECTIONS, findBodyLandmarks, kidneyBox, kidneySections, samplePairs, windowAndStandardize } from "../src/pretext/kidney-side.js";
import { Random } from "../src/random.js";

// A KiTS-like grid: 2 mm pixels, 5 mm slices, axes flipped (x = -2 i, y = -2 j), origin elsewhere.
const N = 160;
const NZ = 6;
const affine = [[-2, 0, 0, 150], [0, -2, 0, 120], [0, 0, 5, -20], [0, 0, 0, 1]];
const world = (i: number, j: number, k: number) => [-2 * i + 150, -2 * j + 120, 5 * k - 20];
const SPINE = { x: 6, y: -50 };

/** Air, an elliptic body of soft tissue centred near x = 0, a vertebra at SPINE, optional blobs. */
function phantomCt(blobs: { x: number; y: number; r: number; hu: number }[] = []): Volume<Int16Array> {
  const data = new Int16Array(N * N * NZ).fill(-1000);
  for (let k = 0; k < NZ; k++)
    for (let j = 0; j < N; j++)
      for (let i = 0; i < N; i++) {
        const [x, y] = world(i, j, k);
        let v = -1000;
        if ((x / 140) ** 2 + ((y + 10) / 100) ** 2 < 1) v = 40;
        if ((x - SPINE.x) ** 2 + (y - SPINE.y) ** 2 < 15 ** 2) v = 700;
        for (const b of blobs) if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.r ** 2) v = b.hu;
        data[i + N * (j + N * k)] = v;
      }
  return { data, shape: [N, N, NZ], spacing: [2, 2, 5], affine };
}

test("landmarks: the spine's centre from thresholds, in world mm, whatever the axis signs", () => {
  const lm = findBodyLandmarks(phantomCt());
  assert.ok(Math.abs(lm.midlineX - SPINE.x) <= 2 && Math.abs(lm.spineY - SPINE.y) <= 2, JSON.stringify(lm));
  // Without bone there is no landmark: an error, not a guess.
  const noBone = phantomCt();
  noBone.data.forEach((v, o) => (noBone.data[o] = v > 200 ? 40 : v));
  assert.throws(() => findBodyLandmarks(noBone), /found no spine/);
});

test("windowing: HU clipped to [-79, 304] then z-scored (numbers by hand)", () => {
  const out = windowAndStandardize([-1000, 0, 1000, 100]);
  const clipped = [-79, 0, 304, 100];
  const mean = clipped.reduce((a, b) => a + b) / 4;
  const sd = Math.sqrt(clipped.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
  clipped.forEach((v, i) => assert.ok(Math.abs(out[i] - (v - mean) / sd) < 1e-5));
});

test("label-free sections: the box beside the spine on each side; mirroring flips only the left", () => {
  // A marker blob where the right box's centre is (patient's right = +x in RAS).
  const o = { ...DEFAULT_SECTIONS, cropPx: 32, boxMm: 100, lateralMm: 70, anteriorMm: 10, sections: 3 };
  const marker = { x: SPINE.x + 70, y: SPINE.y + 10, r: 8, hu: 250 };
  const ct = phantomCt([marker]);
  const z = windowAndStandardize(ct.data);
  const plain = kidneySections(ct, z, { ...o, mirror: false });
  const mirrored = kidneySections(ct, z, { ...o, mirror: true });
  const centre = (img: Float32Array) => img[16 * 32 + 16];
  const bright = z[ct.data.indexOf(250)]; // the marker's value (bone, clipped at 304 HU, is brighter)
  for (const img of plain.right) assert.ok(Math.abs(centre(img) - bright) < 1e-3, "marker at the right box's centre");
  for (const img of plain.left) assert.ok(centre(img) < bright - 0.5, "no marker on the left");
  assert.equal(plain.right.length, 3);
  // The right side is the same either way; the left is the same pixels with i reversed.
  assert.deepEqual(mirrored.right, plain.right);
  for (let s = 0; s < 3; s++)
    for (let j = 0; j < 32; j++)
      for (let i = 0; i < 32; i++) assert.equal(mirrored.left[s][j * 32 + i], plain.left[s][j * 32 + (31 - i)]);
  // Unmirrored, the spine sits at opposite image sides: the spine (bright bone) is at the medial
  // edge: low i on the right box (medial = -x = -i), high i on the left.
  const rowMean = (img: Float32Array, i0: number, i1: number) => {
    let s = 0;
    for (let j = 0; j < 32; j++) for (let i = i0; i < i1; i++) s += img[j * 32 + i];
    return s / (32 * (i1 - i0));
  };
  assert.ok(rowMean(plain.right[0], 0, 8) > rowMean(plain.right[0], 24, 32));
  assert.ok(rowMean(plain.left[0], 24, 32) > rowMean(plain.left[0], 0, 8));
  assert.ok(rowMean(mirrored.left[0], 0, 8) > rowMean(mirrored.left[0], 24, 32), "mirrored: spine on the same side as on the right");
});

test("label-crop sections (the authors'): the kidney's box on each side, masked to the kidney", () => {
  const kidneys = [{ x: SPINE.x + 70, y: SPINE.y + 20, r: 20, hu: 150 }, { x: SPINE.x - 65, y: SPINE.y + 15, r: 18, hu: 150 }];
  const ct = phantomCt(kidneys);
  const mask: Volume<Uint8Array> = { ...ct, data: Uint8Array.from(ct.data, (v) => (v === 150 ? 1 : 0)) };
  const box = kidneyBox(mask, SPINE.x, "right");
  assert.ok(Math.abs((box.min[0] + box.max[0]) / 2 - kidneys[0].x) <= 2 && Math.abs(box.max[0] - box.min[0] - 2 * kidneys[0].r) <= 4, JSON.stringify(box));
  const z = windowAndStandardize(ct.data);
  const s = kidneySections(ct, z, { ...DEFAULT_SECTIONS, mode: "label-crop", cropPx: 24, sections: 2 }, mask);
  const kidneyValue = z[ct.data.indexOf(150)];
  for (const side of ["right", "left"] as const) {
    const img = s[side][0];
    const inside = [...img].filter((v) => Math.abs(v - kidneyValue) < 1e-3).length;
    // A disc in its bounding square covers pi/4 of it; everything else is the fill value.
    assert.ok(inside / img.length > 0.6 && inside / img.length < 0.9, `${side}: ${inside} of ${img.length}`);
    // Outside the mask only the fill value; inside, kidney (blended with soft tissue at the edge).
    const fill = img.reduce((m, v) => Math.min(m, v), Infinity);
    const softTissue = z[ct.data.indexOf(40)];
    assert.ok([...img].every((v) => v === fill || (v >= softTissue - 1e-3 && v <= kidneyValue + 1e-3)), `${side}: only kidney (and its edge) and fill values`);
  }
  assert.throws(() => kidneySections(ct, z, { ...DEFAULT_SECTIONS, mode: "label-crop" }), /need the kidney label map/);
});

test("pairs: about half same-side, and 'same' means the same side", () => {
  const tag = (v: number) => new Float32Array(4).fill(v);
  const subjects = [1, 2, 3].map((s) => ({ right: [tag(s), tag(s + 0.1)], left: [tag(-s), tag(-s - 0.1)] }));
  const { x1, x2, same } = samplePairs(subjects, 4000, 2, new Random(3));
  const a = x1.dataSync();
  const b = x2.dataSync();
  const y = same.dataSync();
  let nSame = 0;
  for (let n = 0; n < y.length; n++) {
    assert.equal(y[n] === 1, Math.sign(a[n * 4]) === Math.sign(b[n * 4]), `pair ${n}`);
    nSame += y[n];
  }
  // Binomial(4000, 0.5): sd 32; 5 sd either side.
  assert.ok(Math.abs(nSame - 2000) < 160, `${nSame} same-side pairs of 4000`);
  tf.dispose([x1, x2, same]);
});

test("contrastive loss by hand; pair distances equal the embeddings' Euclidean distance", async () => {
  await initBackend();
  const d = tf.tensor1d([0.5, 0.2, 1.5]);
  const y = tf.tensor1d([1, 0, 0]);
  assert.ok(Math.abs(contrastiveLoss(d, y).dataSync()[0] - (0.25 + 0.64 + 0) / 3) < 1e-6);

  const encoder = buildSiameseEncoder2D({ height: 16, width: 16, inChannels: 1, depth: 3, baseFilters: 4, embedding: 8, seed: 2 });
  const x1 = tf.randomNormal([3, 16, 16, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  const x2 = tf.randomNormal([3, 16, 16, 1], 0, 1, "float32", 2) as tf.Tensor4D;
  const dist = pairDistances(encoder, x1, x2, false).dataSync();
  const e1 = (encoder.predict(x1) as tf.Tensor2D).arraySync();
  const e2 = (encoder.predict(x2) as tf.Tensor2D).arraySync();
  for (let n = 0; n < 3; n++) {
    const expected = Math.sqrt(e1[n].reduce((s, v, c) => s + (v - e2[n][c]) ** 2, 0));
    assert.ok(Math.abs(dist[n] - expected) < 1e-4 * Math.max(1, expected), `pair ${n}: ${dist[n]} vs ${expected}`);
  }
  assert.ok(pairDistances(encoder, x1, x1, false).dataSync().every((v) => v < 1e-3), "a section is at distance 0 from itself");
});

test("the siamese branch is the U-Net's encoder: its weights move into a segmentation U-Net by name", () => {
  const config = { height: 16, width: 16, inChannels: 1, depth: 3, baseFilters: 4 };
  const encoder = buildSiameseEncoder2D({ ...config, embedding: 8, seed: 5 });
  const unet = buildUNet2D({ ...config, nClasses: 3, seed: 9 });
  const copied = transferWeights(encoder, unet, "encoder");
  const encoderWeights = unet.weights.filter((w) => /^enc\d+_/.test(w.originalName));
  assert.equal(copied.length, encoderWeights.length);
  const source = new Map(encoder.weights.map((w) => [w.originalName, w.read().dataSync()]));
  for (const w of encoderWeights) assert.deepEqual(w.read().dataSync(), source.get(w.originalName), w.originalName);
  // The branch holds the encoder and its embedding, not the decoder.
  assert.ok(!encoder.weights.some((w) => /^dec|^head/.test(w.originalName)));
});
