import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { identityAffine, type Volume } from "../src/io/volume.js";
import { dice, surfaceDistances, surfaceMetrics, surfaceMetricsPerClass, surfaceMetricsPerSlice, type SurfaceDistances } from "../src/metrics/index.js";
import { Random } from "../src/random.js";
import { PYTHON, scipySkip } from "./helpers/scipy.js";

const CARDIAC: number[] = [1.5, 1.5, 10]; // short-axis stack voxel size, mm

function volume(shape: number[], spacing: number[], fill: (i: number, j: number, k: number) => number): Volume<Uint8Array> {
  const [nx, ny, nz] = shape;
  const data = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = fill(i, j, k);
  const affine = identityAffine();
  for (let a = 0; a < 3; a++) affine[a][a] = spacing[a];
  return { data, shape, spacing, affine };
}

/** Axis-aligned box [lo, lo + size) of label 1. */
function box(shape: number[], spacing: number[], lo: number[], size: number[]): Volume<Uint8Array> {
  return volume(shape, spacing, (i, j, k) => (i >= lo[0] && i < lo[0] + size[0] && j >= lo[1] && j < lo[1] + size[1] && k >= lo[2] && k < lo[2] + size[2] ? 1 : 0));
}

function close(actual: number, expected: number, tol = 1e-9, what = ""): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected}`);
}

// ----- Brute force reference, written independently of the library: definitions applied literally.

function bruteSurface(mask: Uint8Array, shape: number[], planar: boolean): number[][] {
  const [nx, ny, nz] = shape;
  const at = (i: number, j: number, k: number) => i >= 0 && j >= 0 && k >= 0 && i < nx && j < ny && k < nz && mask[i + nx * (j + ny * k)] === 1;
  const steps = planar ? [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]] : [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]];
  const out: number[][] = [];
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    if (at(i, j, k) && steps.some(([a, b, c]) => !at(i + a, j + b, k + c))) out.push([i, j, k]);
  }
  return out;
}

function bruteDirected(from: number[][], to: number[][], spacing: number[]): number[] {
  return from.map((p) => Math.min(...to.map((q) => Math.hypot((p[0] - q[0]) * spacing[0], (p[1] - q[1]) * spacing[1], (p[2] - q[2]) * spacing[2]))));
}

function brute(a: Uint8Array, b: Uint8Array, shape: number[], spacing: number[]): { hd95: number; assd: number; hd: number } {
  const planar = shape[2] === 1;
  const sa = bruteSurface(a, shape, planar);
  const sb = bruteSurface(b, shape, planar);
  if (sa.length === 0 && sb.length === 0) return { hd95: 0, assd: 0, hd: 0 };
  if (sa.length === 0 || sb.length === 0) return { hd95: NaN, assd: NaN, hd: NaN };
  const all = [...bruteDirected(sa, sb, spacing), ...bruteDirected(sb, sa, spacing)].sort((x, y) => x - y);
  // 95th percentile, linear interpolation between closest ranks (numpy.percentile's default).
  const h = (all.length - 1) * 0.95;
  const lo = Math.floor(h);
  const hd95 = lo + 1 < all.length ? all[lo] + (all[lo + 1] - all[lo]) * (h - lo) : all[lo];
  return { hd95, assd: all.reduce((s, x) => s + x, 0) / all.length, hd: all[all.length - 1] };
}

/** Random blobby mask: a few random boxes and balls, so surfaces have both flat and curved parts. */
function randomMask(rng: Random, shape: number[]): Uint8Array {
  const [nx, ny, nz] = shape;
  const m = new Uint8Array(nx * ny * nz);
  const parts = rng.int(1, 3);
  for (let p = 0; p < parts; p++) {
    const c = [rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(0, nz)];
    const r = [rng.uniform(0.5, nx / 2), rng.uniform(0.5, ny / 2), rng.uniform(0.5, nz / 2)];
    const ball = rng.next() < 0.5;
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const u = [(i - c[0]) / r[0], (j - c[1]) / r[1], (k - c[2]) / r[2]];
      const inside = ball ? u[0] ** 2 + u[1] ** 2 + u[2] ** 2 <= 1 : u.every((x) => Math.abs(x) <= 1);
      if (inside) m[i + nx * (j + ny * k)] = 1;
    }
  }
  // Salt noise: isolated voxels and holes are surfaces too.
  for (let n = 0; n < m.length; n++) if (rng.next() < 0.03) m[n] ^= 1;
  return m;
}

// ----- Hand-computed cases

test("identical masks: Dice 1, HD95 0, ASSD 0", () => {
  const a = box([20, 20, 8], CARDIAC, [3, 4, 2], [9, 7, 4]);
  const r = surfaceMetrics(a, a, 1);
  assert.deepEqual([r.hd95, r.assd, r.hd, r.meanPredToRef, r.meanRefToPred], [0, 0, 0, 0, 0]);
  assert.equal(r.surfacePred, 9 * 7 * 4 - 7 * 5 * 2); // every voxel except the 7x5x2 interior
  assert.equal(dice(a.data, a.data, 1), 1);
});

test("2x2x2 cubes 3 voxels apart along x at 1.5 x 1.5 x 10 mm: HD95 4.5, ASSD 3.75", () => {
  // Every voxel of a 2-voxel cube is a surface voxel. The nearest voxel of the other cube is the one
  // straight along x: the 4 voxels of the near face are 2 voxels (3 mm) away, the far face 3 (4.5 mm).
  // Both directions: 8 x 3 mm and 8 x 4.5 mm. h = 15 * 0.95 = 14.25 falls between two 4.5's.
  const a = box([10, 6, 6], CARDIAC, [1, 2, 2], [2, 2, 2]);
  const b = box([10, 6, 6], CARDIAC, [4, 2, 2], [2, 2, 2]);
  const r = surfaceMetrics(a, b, 1);
  assert.equal(r.hd95, 4.5);
  assert.equal(r.assd, 3.75);
  assert.equal(r.hd, 4.5);
  assert.equal(r.meanPredToRef, 3.75);
  assert.equal(r.surfacePred, 8);
});

test("3x3x3 cubes 1 slice apart along z at 1.5 x 1.5 x 10 mm: HD95 10, ASSD 183/52", () => {
  // A = slices 0..2, B = slices 1..3 (local to the cubes). Each has 26 surface voxels (all but the
  // centre). A's surface on its slices 1 and 2 that is also B's surface: 8 + 8 voxels at 0 mm. A's top
  // centre (1,1,2) is inside B; its nearest B-surface voxels are its in-plane neighbours, 1.5 mm.
  // A's bottom slice (9 voxels) is 10 mm below B's bottom face. B -> A is the mirror image.
  // Union: 32 x 0, 2 x 1.5, 18 x 10 mm. h = 51 * 0.95 = 48.45 lies among the 10's (ranks 34..51).
  const a = box([7, 7, 8], CARDIAC, [2, 2, 2], [3, 3, 3]);
  const b = box([7, 7, 8], CARDIAC, [2, 2, 3], [3, 3, 3]);
  const r = surfaceMetrics(a, b, 1);
  assert.equal(r.hd95, 10);
  close(r.assd, 183 / 52, 1e-15, "assd");
  assert.equal(r.hd, 10);
  close(r.meanPredToRef, 91.5 / 26, 1e-15, "pred->ref");
  close(r.meanRefToPred, 91.5 / 26, 1e-15, "ref->pred");
  // Spacing matters: at 1 mm isotropic the same masks give 10 -> 1 and 1.5 -> 1.
  const iso = surfaceDistances(a.data, b.data, a.shape, [1, 1, 1]);
  assert.equal(iso.hd95, 1);
  close(iso.assd, 20 / 52, 1e-15, "isotropic assd");
});

test("ball vs a ball 1 mm larger (1 mm voxels): distances near 1 mm; brute force agrees", () => {
  const shape = [25, 25, 25];
  const ball = (r: number) => volume(shape, [1, 1, 1], (i, j, k) => ((i - 12) ** 2 + (j - 12) ** 2 + (k - 12) ** 2 <= r * r ? 1 : 0));
  const a = ball(8);
  const b = ball(9);
  const r = surfaceMetrics(a, b, 1);
  const bf = brute(a.data, b.data, shape, [1, 1, 1]);
  close(r.hd95, bf.hd95, 1e-12, "hd95");
  close(r.assd, bf.assd, 1e-12, "assd");
  // The continuous answer is 1 mm everywhere. Voxelisation moves each surface voxel by up to about
  // half a voxel diagonal, so every distance is in [0, 1 + sqrt(3)] and the bulk sits near 1 mm.
  assert.ok(r.hd <= 1 + Math.sqrt(3), `hd ${r.hd}`);
  assert.ok(r.assd > 0.7 && r.assd < 1.3, `assd ${r.assd}`);
  assert.ok(r.hd95 >= 1 && r.hd95 <= Math.sqrt(3), `hd95 ${r.hd95}`);
  assert.ok(dice(a.data, b.data, 1) > 0.7);
});

test("empty cases: both empty -> 0; one empty -> NaN (each direction); other classes unaffected", () => {
  const empty = box([8, 8, 4], CARDIAC, [0, 0, 0], [0, 0, 0]);
  const cube = box([8, 8, 4], CARDIAC, [2, 2, 1], [3, 3, 2]);
  const both = surfaceMetrics(empty, empty, 1);
  assert.deepEqual([both.hd95, both.assd, both.hd], [0, 0, 0]);
  for (const [p, q] of [[empty, cube], [cube, empty]]) {
    const r = surfaceMetrics(p, q, 1);
    assert.ok(Number.isNaN(r.hd95) && Number.isNaN(r.assd) && Number.isNaN(r.hd), JSON.stringify(r));
  }
  const per = surfaceMetricsPerClass(cube, cube, [1, 2]);
  assert.equal(per[0].hd95, 0);
  assert.equal(per[1].hd95, 0); // label 2 in neither: perfect agreement
});

test("label maps: classes scored one against the rest; mask touching the image border has a surface there", () => {
  // One slab filling the whole image in x and y: only the border and the z faces could be surface,
  // and voxels outside the image are background, so every voxel is surface.
  const shape = [4, 4, 3];
  const labels = volume(shape, CARDIAC, (_i, _j, k) => (k === 0 ? 1 : k === 1 ? 2 : 3));
  const r = surfaceMetricsPerClass(labels, labels, [1, 2, 3]);
  assert.deepEqual(r.map((x) => x.surfacePred), [16, 16, 16]);
  // Prediction labels slices 1 and 2 as class 2 (the reference has class 2 on slice 1 only). All 32
  // predicted voxels are surface; those on slice 1 coincide with the reference (0 mm), those on
  // slice 2 are one slice (10 mm) away; all 16 reference voxels are at 0 mm. Union: 32 x 0, 16 x 10.
  const pred = volume(shape, CARDIAC, (_i, _j, k) => (k === 0 ? 1 : 2));
  const r2 = surfaceMetrics(pred, labels, 2);
  assert.equal(r2.hd95, 10); // h = 47 * 0.95 = 44.65, among the 10's (ranks 32..47)
  close(r2.assd, 10 / 3, 1e-15, "assd");
  assert.equal(r2.meanPredToRef, 5);
  assert.equal(r2.meanRefToPred, 0);
  assert.ok(Number.isNaN(surfaceMetrics(pred, labels, 3).hd95)); // class 3 only in the reference
});

test("2D: a [nx, ny, 1] image uses in-plane surfaces; per-slice variant matches scoring each slice alone", () => {
  const shape2d = [12, 10, 1];
  const a = box(shape2d, [0.8, 1.2, 5], [2, 2, 0], [5, 4, 1]);
  const b = box(shape2d, [0.8, 1.2, 5], [3, 2, 0], [5, 4, 1]);
  const r = surfaceMetrics(a, b, 1);
  assert.equal(r.surfacePred, 5 * 4 - 3 * 2);
  const bf = brute(a.data, b.data, shape2d, [0.8, 1.2, 5]);
  close(r.hd95, bf.hd95, 1e-12, "hd95");
  close(r.assd, bf.assd, 1e-12, "assd");

  const rng = new Random(7);
  const shape = [11, 9, 4];
  const spacing = [0.9, 1.4, 8];
  const p: Volume = { ...volume(shape, spacing, () => 0), data: randomMask(rng, shape) };
  const q: Volume = { ...volume(shape, spacing, () => 0), data: randomMask(rng, shape) };
  const slices = surfaceMetricsPerSlice(p, q, 1);
  assert.equal(slices.length, 4);
  const plane = shape[0] * shape[1];
  slices.forEach((s, k) => {
    const one = (v: Volume) => v.data.subarray(k * plane, (k + 1) * plane) as Uint8Array;
    const e = brute(one(p), one(q), [shape[0], shape[1], 1], spacing);
    close(s.hd95, e.hd95, 1e-12, `slice ${k} hd95`);
    close(s.assd, e.assd, 1e-12, `slice ${k} assd`);
  });
});

test("random small masks with anisotropic spacing: exact EDT agrees with O(n^2) brute force", () => {
  const rng = new Random(2024);
  for (let trial = 0; trial < 60; trial++) {
    const shape = [rng.int(1, 12), rng.int(1, 12), rng.int(1, 7)];
    const spacing = [rng.uniform(0.3, 2), rng.uniform(0.3, 2), rng.uniform(0.5, 12)];
    const a = randomMask(rng, shape);
    const b = randomMask(rng, shape);
    const r = surfaceDistances(a, b, shape, spacing, 1);
    const e = brute(a, b, shape, spacing);
    for (const key of ["hd95", "assd", "hd"] as const) {
      if (Number.isNaN(e[key])) assert.ok(Number.isNaN(r[key]), `trial ${trial} ${key}`);
      else close(r[key], e[key], 1e-12, `trial ${trial} ${key} shape [${shape}]`);
    }
  }
});

// ----- Cross-check against SciPy (MedPy's definitions written out with scipy.ndimage)

const MEDPY_SCRIPT = String.raw`
import json, sys
import numpy as np
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure
out = []
for case in json.load(sys.stdin):
    shape = case["shape"]
    a = np.array(case["a"], dtype=bool).reshape(shape, order="F")
    b = np.array(case["b"], dtype=bool).reshape(shape, order="F")
    sp = case["spacing"]
    if shape[2] == 1:
        a, b, sp = a[:, :, 0], b[:, :, 0], sp[:2]
    fp = generate_binary_structure(a.ndim, 1)
    def directed(x, y):
        xb = x ^ binary_erosion(x, structure=fp, iterations=1)
        yb = y ^ binary_erosion(y, structure=fp, iterations=1)
        return distance_transform_edt(~yb, sampling=sp)[xb]
    d = np.hstack((directed(a, b), directed(b, a)))
    out.append({"hd95": float(np.percentile(d, 95)), "assd": float(d.mean()), "hd": float(d.max())})
json.dump(out, sys.stdout)
`;


test("cross-check with scipy.ndimage (MedPy hd95 definition)", (t) => {
  const missing = scipySkip("scipy.ndimage");
  if (missing) {
    t.skip(missing);
    return;
  }
  const rng = new Random(99);
  const cases: { shape: number[]; spacing: number[]; a: Uint8Array; b: Uint8Array }[] = [];
  for (let n = 0; n < 8; n++) {
    const shape = n === 0 ? [30, 25, 1] : [rng.int(20, 40), rng.int(20, 40), rng.int(4, 12)];
    const spacing = n < 4 ? CARDIAC : [rng.uniform(0.5, 2), rng.uniform(0.5, 2), rng.uniform(1, 10)];
    cases.push({ shape, spacing, a: randomMask(rng, shape), b: randomMask(rng, shape) });
  }
  const input = JSON.stringify(cases.map((c) => ({ shape: c.shape, spacing: c.spacing, a: Array.from(c.a), b: Array.from(c.b) })));
  const py = spawnSync(PYTHON, ["-c", MEDPY_SCRIPT], { input, encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(py.status, 0, py.stderr);
  const expected: { hd95: number; assd: number; hd: number }[] = JSON.parse(py.stdout);
  cases.forEach((c, n) => {
    const r: SurfaceDistances = surfaceDistances(c.a, c.b, c.shape, c.spacing, 1);
    close(r.hd95, expected[n].hd95, 1e-9, `case ${n} hd95`);
    close(r.assd, expected[n].assd, 1e-9, `case ${n} assd`);
    close(r.hd, expected[n].hd, 1e-9, `case ${n} hd`);
    assert.ok(r.surfacePred > 0 && r.surfaceRef > 0 && r.hd95 > 0, `case ${n} is not trivial`);
  });
});

test("geometry checks: mismatched shapes or spacings throw", () => {
  const a = box([6, 6, 3], CARDIAC, [1, 1, 1], [2, 2, 1]);
  const b = box([6, 6, 4], CARDIAC, [1, 1, 1], [2, 2, 1]);
  assert.throws(() => surfaceMetrics(a, b, 1), /shapes differ/);
  const c = { ...a, spacing: [1.5, 1.5, 8] };
  assert.throws(() => surfaceMetrics(a, c, 1), /spacings differ/);
  assert.throws(() => surfaceDistances(a.data, a.data, [6, 6, 2], CARDIAC), /needs/);
});
