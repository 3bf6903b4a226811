import assert from "node:assert/strict";
import { test } from "node:test";
import type { Volume } from "../src/io/volume.js";
import { Random } from "../src/random.js";
import { applyAugment, augmentSlice, NO_AUGMENT, normalizePercentile, percentiles, resampleInPlane } from "../src/transforms/index.js";

test("percentiles interpolate linearly between order statistics", () => {
  const data = [5, 1, 4, 2, 3]; // sorted 1..5
  assert.deepEqual(percentiles(data, [0, 50, 100, 25, 10]), [1, 3, 5, 2, 1.4]);
  const n = normalizePercentile(Float32Array.from({ length: 101 }, (_, i) => i), 10, 90);
  assert.equal(n[10], 0);
  assert.equal(n[50], 0.5);
  assert.equal(n[95], 1);
  assert.equal(n[0], 0);
});

test("augmentation: no-op options return the input; a 90-degree turn moves pixels exactly", () => {
  const size = 6;
  const image = Float32Array.from({ length: size * size }, (_, i) => i / 36);
  const labels = Uint8Array.from({ length: size * size }, (_, i) => i % 7);
  const same = augmentSlice(image, [labels], size, new Random(1), NO_AUGMENT);
  assert.deepEqual(Array.from(same.image).map((v) => +v.toFixed(6)), Array.from(image).map((v) => +v.toFixed(6)));
  assert.deepEqual(same.targets[0], labels);

  const p = { angle: Math.PI / 2, scale: 1, tx: 0, ty: 0, flip: false, gamma: 1, gain: 1, noise: 0 };
  const r = applyAugment(image, [labels], size, p, new Random(1));
  // Output (x, y) samples input (sx, sy) = (c + dy, c - dx) with c = 2.5: (x, y) <- (y, 5 - x).
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    assert.equal(r.targets[0][x + size * y], labels[y + size * (5 - x)]);
    assert.ok(Math.abs(r.image[x + size * y] - image[y + size * (5 - x)]) < 1e-6);
  }
  // Flip mirrors x.
  const f = applyAugment(image, [labels], size, { ...p, angle: 0, flip: true }, new Random(1));
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) assert.equal(f.targets[0][x + size * y], labels[5 - x + size * y]);
});

test("augmentation: fields are resampled bilinearly with the image's map, without intensity changes, and draw nothing from the generator", () => {
  const size = 8;
  const image = Float32Array.from({ length: size * size }, (_, i) => (i % 5) / 5);
  // A linear field: bilinear interpolation reproduces it exactly wherever the source is inside.
  const field = Float32Array.from({ length: size * size }, (_, i) => 0.1 * (i % size) + 0.03 * Math.floor(i / size));
  const p = { angle: 0.3, scale: 1.1, tx: 0.4, ty: -0.7, flip: false, gamma: 1.7, gain: 0.8, noise: 0 };
  const r = applyAugment(image, [], size, p, new Random(1), [field]);
  const c = (size - 1) / 2;
  let inside = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const dx = x - c - p.tx;
    const dy = y - c - p.ty;
    const sx = (Math.cos(p.angle) * dx + Math.sin(p.angle) * dy) / p.scale + c;
    const sy = (-Math.sin(p.angle) * dx + Math.cos(p.angle) * dy) / p.scale + c;
    if (sx < 0 || sy < 0 || sx > size - 1 || sy > size - 1) {
      assert.equal(r.fields[0][x + size * y], 0, "outside: 0");
      continue;
    }
    inside++;
    assert.ok(Math.abs(r.fields[0][x + size * y] - (0.1 * sx + 0.03 * sy)) < 1e-5, `(${x}, ${y})`);
  }
  assert.ok(inside > 30);
  // The same generator state gives the same image with or without fields.
  const a = augmentSlice(image, [], size, new Random(9));
  const b = augmentSlice(image, [], size, new Random(9), undefined, [field, field]);
  assert.deepEqual(a.image, b.image);
  assert.deepEqual(b.fields[0], b.fields[1]);
});

test("augmentation is seeded", () => {
  const image = Float32Array.from({ length: 64 }, (_, i) => (i % 8) / 8);
  const a = augmentSlice(image, [], 8, new Random(3));
  const b = augmentSlice(image, [], 8, new Random(3));
  const c = augmentSlice(image, [], 8, new Random(4));
  assert.deepEqual(a.image, b.image);
  assert.notDeepEqual(a.image, c.image);
});

test("in-plane resampling keeps slice planes and world positions", () => {
  // 8 x 8 x 2 with 1 mm pixels, 10 mm slices; value = world x + 100 * k.
  const affine = [[1, 0, 0, -3.5], [0, 1, 0, -3.5], [0, 0, 10, 0], [0, 0, 0, 1]];
  const data = new Float32Array(128);
  for (let k = 0; k < 2; k++) for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) data[i + 8 * (j + 8 * k)] = i - 3.5 + 100 * k;
  const v: Volume = { data, shape: [8, 8, 2], spacing: [1, 1, 10], affine };
  const r = resampleInPlane(v, { size: 4, pixel: 2 }, "linear");
  assert.deepEqual(r.shape, [4, 4, 2]);
  // Output pixel i sits at world x = (i - 1.5) * 2, so its value is that x (+100 on slice 1).
  for (let k = 0; k < 2; k++) for (let i = 0; i < 4; i++) assert.ok(Math.abs(r.data[i + 4 * (1 + 4 * k)] - ((i - 1.5) * 2 + 100 * k)) < 1e-5);
  assert.deepEqual(r.affine[2], [0, 0, 10, 0]);
});
