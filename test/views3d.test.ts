/**
 * Random 3D views (src/transforms/views3d.ts), checked against computations that do not use the
 * module's affines: label maps of a synthetic abdominal CT against the source label at each
 * voxel's world point (built here from the drawn parameters with Rodrigues rotations), view to
 * view label agreement, renderView against scipy's map_coordinates, feature-grid centres against
 * the mean of the pooled voxels, and feature sampling through `correspondence` against an
 * analytic field. Small grids keep it fast.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { after, test } from "node:test";
import { affineFromAxes, applyToPoint, invertAffine, matmul, normalize, rotateAbout, type Vec3 } from "../src/geometry/index.js";
import { affineSpacing, voxelCount, voxelToWorld, type Affine, type Volume } from "../src/io/volume.js";
import { generateAbdomenCt } from "../src/phantoms/abdomen/index.js";
import { Random } from "../src/random.js";
import {
  correspondence,
  drawView,
  featureGrid,
  overlapFraction,
  PGL_VIEW_DEFAULTS,
  renderView,
  viewFromParams,
  viewToView,
  type View3D,
  type ViewOptions,
  type ViewParams,
} from "../src/transforms/index.js";
import { runPython } from "./helpers/shared-data.js";

const tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-views3d-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** 48 x 48 x 24 voxels of 8 mm: the whole abdomen, coarse; voxel centres at 4 mod 8 mm on every axis. */
const ct = generateAbdomenCt(3, { matrix: 48, pixelMm: 8, sliceMm: 8, slices: 24 });
const labels = ct.labels;
const SOURCE = { shape: labels.shape, affine: labels.affine };

/** Options for views built by hand with viewFromParams: only shape and spacing matter there. */
const NO_TRANSFORM: ViewOptions = { shape: [24, 24, 12], spacingMm: [8, 8, 8], scale: [1, 1], rotateDeg: 0, rot90: false, flip: [false, false, false], jitterMm: [0, 0, 0] };

function params(p: Partial<ViewParams>): ViewParams {
  return { scale: 1, rotateDeg: [0, 0, 0], quarterTurns: 0, flip: [false, false, false], jitterMm: [0, 0, 0], centre: [0, 0, 0], ...p };
}

/**
 * World point of view voxel v from the parameters alone, following the documented recipe
 * (scale and flip the offset from the centre voxel, tilt about x then y then z, quarter-turn
 * about z, add the centre) with Rodrigues rotations instead of the module's matrices.
 */
function worldFromParams(p: ViewParams, o: Pick<ViewOptions, "shape" | "spacingMm">, v: Vec3): Vec3 {
  let d = [0, 1, 2].map((a) => (v[a] - (o.shape[a] - 1) / 2) * (o.spacingMm[a] / p.scale) * (p.flip[a] ? -1 : 1)) as Vec3;
  const axes: Vec3[] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let a = 0; a < 3; a++) d = rotateAbout(d, axes[a], (p.rotateDeg[a] * Math.PI) / 180);
  d = rotateAbout(d, axes[2], (p.quarterTurns * Math.PI) / 2);
  return [0, 1, 2].map((a) => p.centre[a] + d[a]) as Vec3;
}

/**
 * The deliberately wrong composition: the flip applied after the rotations (F Q R S instead of
 * Q R F S). It differs from the right map whenever a flip and a rotation do not commute.
 */
function wrongAffine(p: ViewParams, o: Pick<ViewOptions, "shape" | "spacingMm">): Affine {
  const rotated = viewFromParams({ ...p, flip: [false, false, false] }, o).affine;
  const flipAboutCentre: Affine = [0, 1, 2].map((r) => [0, 1, 2].map((c): number => (r === c ? (p.flip[r] ? -1 : 1) : 0)).concat(p.flip[r] ? 2 * p.centre[r] : 0));
  flipAboutCentre.push([0, 0, 0, 1]);
  return matmul(flipAboutCentre, rotated);
}

/** Nearest source label at a world point (the phantom's affine is diagonal); `tie` when a coordinate sits on a .5 boundary. */
function sourceLabelAt(w: Vec3): { label: number; tie: boolean } {
  const a = labels.affine;
  const ijk = [0, 1, 2].map((d) => (w[d] - a[d][3]) / a[d][d]);
  const tie = ijk.some((x) => Math.abs(x - Math.floor(x) - 0.5) < 1e-6);
  const r = ijk.map(Math.round);
  const inside = r.every((x, d) => x >= 0 && x < labels.shape[d]);
  return { label: inside ? labels.data[r[0] + labels.shape[0] * (r[1] + labels.shape[1] * r[2])] : 0, tie };
}

/** Compare each rendered voxel with the source label at its world point from worldPoint (ties on .5 boundaries skipped). */
function checkAgainstSource(rendered: Volume, worldPoint: (v: Vec3) => Vec3): { checked: number; mismatches: number; ties: number; foreground: number; foregroundMismatches: number } {
  const [nx, ny, nz] = rendered.shape;
  let checked = 0;
  let mismatches = 0;
  let ties = 0;
  let foreground = 0;
  let foregroundMismatches = 0;
  for (let k = 0, o = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        const { label, tie } = sourceLabelAt(worldPoint([i, j, k]));
        if (tie) {
          ties++;
          continue;
        }
        checked++;
        const bad = label !== rendered.data[o];
        if (bad) mismatches++;
        if (label > 0 || rendered.data[o] > 0) {
          foreground++;
          if (bad) foregroundMismatches++;
        }
      }
    }
  }
  return { checked, mismatches, ties, foreground, foregroundMismatches };
}

interface Agreement {
  overlap: number;
  agree: number;
  foreground: number;
  foregroundAgree: number;
  exact: number;
  exactAgree: number;
}

/**
 * For each voxel v of view 2: its label against view 1's label at the nearest voxel to
 * map2to1(v), over voxels that land inside view 1. `exact` counts voxels that land on a voxel
 * centre of view 1 (within 1e-6): there both are nearest lookups of the same source voxel.
 */
function agreement(lab2: Volume, lab1: Volume, map2to1: Affine): Agreement {
  const [nx, ny, nz] = lab2.shape;
  const [mx, my, mz] = lab1.shape;
  const r: Agreement = { overlap: 0, agree: 0, foreground: 0, foregroundAgree: 0, exact: 0, exactAgree: 0 };
  for (let k = 0, o = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        const p = applyToPoint(map2to1, [i, j, k]);
        const q = p.map(Math.round);
        if (q[0] < 0 || q[1] < 0 || q[2] < 0 || q[0] >= mx || q[1] >= my || q[2] >= mz) continue;
        const l1 = lab1.data[q[0] + mx * (q[1] + my * q[2])];
        const l2 = lab2.data[o];
        const same = l1 === l2;
        r.overlap++;
        if (same) r.agree++;
        if (l1 > 0 || l2 > 0) {
          r.foreground++;
          if (same) r.foregroundAgree++;
        }
        if (p.every((x, d) => Math.abs(x - q[d]) < 1e-6)) {
          r.exact++;
          if (same) r.exactAgree++;
        }
      }
    }
  }
  return r;
}

/**
 * Agreement floor for views whose voxels fall between the other view's centres. Both label maps
 * are nearest lookups of an 8 mm label map, so v and view 1's nearest voxel to it sit up to half
 * a view voxel apart and see different labels wherever a label border of the source runs between
 * them: a miss rate of about (view voxel / 4) / 8 mm per axis times the share of source voxel
 * faces that are label borders (about 0.3 in this phantom, whose fat and muscle layers are one or
 * two voxels thick). With 6 mm views that is 83-91 % agreement (1 mm views: about 96 %). Exact
 * hits must agree fully, and a wrong map falls to about 20 %.
 */
const MIN_AGREEMENT = 0.8;

const pct = (a: number, b: number) => (b === 0 ? "n/a" : `${((100 * a) / b).toFixed(2)}%`);

interface LabelCase {
  name: string;
  /** Every overlapping voxel of view 2 lands exactly on a voxel centre of view 1. */
  exact: boolean;
  /** Two views with their grid options. */
  views: () => { v1: View3D; o1: ViewOptions; v2: View3D; o2: ViewOptions }[];
}

/** View 1 unchanged at the CT's centre; view 2 with the given parameters on the same 8 mm grid. */
const againstPlain = (p: Partial<ViewParams>, o2: Partial<ViewOptions> = {}) => () => {
  const o1 = NO_TRANSFORM;
  const opt2 = { ...NO_TRANSFORM, ...o2 };
  return [{ v1: viewFromParams(params({}), o1), o1, v2: viewFromParams(params(p), opt2), o2: opt2 }];
};

/** Two views drawn with the same options from a seed, around the CT's centre. */
const drawn = (o: ViewOptions, seeds: number[]) => () =>
  seeds.map((seed) => {
    const rng = new Random(seed);
    return { v1: drawView(SOURCE, o, rng), o1: o, v2: drawView(SOURCE, o, rng), o2: o };
  });

const GENERAL: ViewOptions = { shape: [24, 24, 16], spacingMm: [6, 6, 6], scale: [1, 1], rotateDeg: 0, rot90: false, flip: [false, false, false], jitterMm: [0, 0, 0] };

const LABEL_CASES: LabelCase[] = [
  // Exact maps: 8 mm grids centred on multiples of 8 mm put every voxel on a source voxel centre.
  { name: "crop and shift (integer voxels)", exact: true, views: againstPlain({ centre: [16, -24, 8] }, { shape: [20, 16, 10] }) },
  { name: "flip x", exact: true, views: againstPlain({ flip: [true, false, false], centre: [8, 0, 0] }) },
  { name: "flip y", exact: true, views: againstPlain({ flip: [false, true, false], centre: [0, 8, 0] }) },
  { name: "flip z", exact: true, views: againstPlain({ flip: [false, false, true], centre: [0, 0, -8] }) },
  { name: "rot90 (1 turn, non-square plane)", exact: true, views: againstPlain({ quarterTurns: 1 }, { shape: [24, 16, 12] }) },
  { name: "rot90 (3 turns)", exact: true, views: againstPlain({ quarterTurns: 3, centre: [8, -8, 0] }) },
  { name: "flips + rot90 + crop, drawn", exact: true, views: drawn({ ...NO_TRANSFORM, rot90: true, flip: [true, true, true] }, [1, 2, 3, 4]) },
  // Zoom x2 (4 mm voxels) shifted 2 mm: every other voxel per axis lands on view 1's centres.
  { name: "scale 2 (integer ratio)", exact: false, views: againstPlain({ scale: 2, centre: [2, 2, 2] }) },
  // General maps: voxels fall between the other view's voxel centres.
  { name: "jitter", exact: false, views: drawn({ ...GENERAL, jitterMm: [20, 20, 20] }, [5, 6]) },
  { name: "small rotation", exact: false, views: drawn({ ...GENERAL, rotateDeg: 10 }, [7, 8]) },
  { name: "scale", exact: false, views: drawn({ ...GENERAL, scale: [0.7, 1.4] }, [9, 10]) },
  { name: "composition (PGL-like)", exact: false, views: drawn({ ...GENERAL, scale: [0.8, 1.25], rotateDeg: 10, rot90: true, flip: [true, true, true], jitterMm: [16, 16, 16] }, [11, 12, 13, 14]) },
];

for (const c of LABEL_CASES) {
  test(`labels survive views: ${c.name}`, (t) => {
    for (const { v1, o1, v2, o2 } of c.views()) {
      const lab1 = renderView(labels, v1, "nearest");
      const lab2 = renderView(labels, v2, "nearest");
      // Each rendered voxel is the source label at the world point the parameters give it.
      for (const [lab, v, o] of [[lab1, v1, o1], [lab2, v2, o2]] as const) {
        const s = checkAgainstSource(lab, (x) => worldFromParams(v.params, o, x));
        assert.equal(s.mismatches, 0, `${c.name}: ${s.mismatches} voxels differ from the source label at their world point`);
        assert.ok(s.checked > 0 && s.foreground > 0.2 * s.checked, `${c.name}: the view should hold anatomy (${s.foreground} of ${s.checked} voxels labelled)`);
      }
      // viewToView against the parameters: v in view 2 and its image in view 1 are one world point.
      const m = viewToView(v2, v1);
      for (const v of [[0, 0, 0], [5, 3, 2], [v2.shape[0] - 1, v2.shape[1] - 1, v2.shape[2] - 1]] as Vec3[]) {
        const [p2, p1] = [worldFromParams(v2.params, o2, v), worldFromParams(v1.params, o1, applyToPoint(m, v))];
        for (let d = 0; d < 3; d++) assert.ok(Math.abs(p2[d] - p1[d]) < 1e-9, `${c.name}: voxel ${v} is at ${p2} in view 2 but viewToView sends it to ${p1}`);
      }
      const a = agreement(lab2, lab1, viewToView(v2, v1));
      t.diagnostic(`${c.name}: overlap ${a.overlap}/${voxelCount(v2.shape)}, agreement ${pct(a.agree, a.overlap)}, on labelled voxels ${pct(a.foregroundAgree, a.foreground)}, exact hits ${a.exact} (${pct(a.exactAgree, a.exact)} agree)`);
      assert.ok(a.overlap > 0.2 * voxelCount(v2.shape), `${c.name}: the views should overlap (${a.overlap} voxels)`);
      assert.equal(a.exactAgree, a.exact, `${c.name}: voxels mapped onto voxel centres must carry the same label`);
      if (c.exact) assert.equal(a.exact, a.overlap, `${c.name}: every overlapping voxel should map onto a voxel centre exactly`);
      if (c.name.startsWith("scale 2")) assert.equal(a.exact, a.overlap / 8, "a 2x zoom shifted by half its voxel hits view 1's centres at every other voxel per axis");
      assert.ok(a.agree >= MIN_AGREEMENT * a.overlap, `${c.name}: agreement ${pct(a.agree, a.overlap)} < ${100 * MIN_AGREEMENT}%`);
    }
  });
}

test("labels survive views: a flip composed on the wrong side of the rotation is caught", (t) => {
  const o: ViewOptions = { ...GENERAL, rotateDeg: 10, scale: [0.8, 1.25], jitterMm: [16, 16, 16] };
  const rng = new Random(21);
  const v1 = drawView(SOURCE, o, rng);
  // A quarter turn and an x flip do not commute: F Q differs from Q F by a half turn.
  const p = { ...drawView(SOURCE, o, rng).params, quarterTurns: 1, flip: [true, false, false] as [boolean, boolean, boolean] };
  const v2 = viewFromParams(p, o);
  const lab1 = renderView(labels, v1, "nearest");
  const lab2 = renderView(labels, v2, "nearest");
  const right = agreement(lab2, lab1, viewToView(v2, v1));
  const wrong = agreement(lab2, lab1, matmul(invertAffine(v1.affine), wrongAffine(p, o)));
  const wrongSource = checkAgainstSource(lab2, (x) => applyToPoint(wrongAffine(p, o), x));
  t.diagnostic(`right map: agreement ${pct(right.agree, right.overlap)} (labelled ${pct(right.foregroundAgree, right.foreground)}); wrong map: ${pct(wrong.agree, wrong.overlap)} (labelled ${pct(wrong.foregroundAgree, wrong.foreground)}); wrong world points vs source: ${pct(wrongSource.foreground - wrongSource.foregroundMismatches, wrongSource.foreground)} of labelled voxels agree`);
  assert.ok(right.agree >= MIN_AGREEMENT * right.overlap);
  assert.ok(wrong.agree < 0.4 * wrong.overlap, `the wrong composition should break agreement (${pct(wrong.agree, wrong.overlap)})`);
  assert.ok(wrongSource.foregroundMismatches > 0.6 * wrongSource.foreground, "the wrong world points should miss the rendered labels");
});

test("renderView matches scipy.ndimage.map_coordinates (order 1 and 0) on the same source voxel coordinates", () => {
  const probe = spawnSync("/usr/bin/python3", ["-c", "import numpy, scipy.ndimage"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    assert.fail(`this test needs /usr/bin/python3 with numpy and scipy (Debian: apt-get install python3-scipy): ${probe.error?.message ?? probe.stderr.trim().split("\n").pop()}`);
  }
  // A random source on an oblique, anisotropic, left-handed grid, and a view that sticks out of it.
  const rng = new Random(5);
  const [u, v] = [normalize([1, 0.3, -0.2]), normalize([-0.2, 1, 0.4])];
  const w = normalize([u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]);
  const shape = [14, 12, 10];
  const src: Volume = {
    data: Float32Array.from({ length: voxelCount(shape) }, () => rng.uniform(-1, 1)),
    shape,
    spacing: [2, 2.5, 3],
    affine: affineFromAxes(u.map((x) => -2 * x) as Vec3, v.map((x) => 2.5 * x) as Vec3, w.map((x) => 3 * x) as Vec3, [10, -14, -12]),
  };
  const o: ViewOptions = { shape: [12, 10, 8], spacingMm: [2, 2, 2.5], scale: [0.8, 1.25], rotateDeg: 20, rot90: true, flip: [true, true, true], jitterMm: [8, 8, 8] };
  const view = drawView({ shape, affine: src.affine }, o, rng);
  const fill = -7;
  const linear = renderView(src, view, "linear", fill);
  const nearest = renderView(src, view, "nearest", fill);

  const m = matmul(invertAffine(src.affine), view.affine);
  const n = voxelCount(view.shape);
  const coords = new Float64Array(3 * n);
  for (let k = 0, q = 0; k < view.shape[2]; k++) for (let j = 0; j < view.shape[1]; j++) for (let i = 0; i < view.shape[0]; i++, q++) coords.set(applyToPoint(m, [i, j, k]), 3 * q);
  const files = { src: path.join(tmp, "src.f32"), coords: path.join(tmp, "coords.f64"), linear: path.join(tmp, "linear.f64"), nearest: path.join(tmp, "nearest.f64") };
  writeFileSync(files.src, src.data);
  writeFileSync(files.coords, coords);
  // scipy's mode "constant" returns cval outside the hull [0, n - 1] of voxel centres: the same
  // rule as reslice's trilinear. For order 0 it also returns cval in the outer half of the edge
  // voxels, where a nearest lookup (reslice's) still lies inside the voxel; "grid-constant" is
  // scipy's mode that looks up the whole voxel, so order 0 uses that.
  runPython(
    `import sys, numpy as np
from scipy import ndimage
nx, ny, nz, fill = ${shape[0]}, ${shape[1]}, ${shape[2]}, ${fill}
a = np.fromfile(sys.argv[1], '<f4').astype(np.float64).reshape(nz, ny, nx).transpose(2, 1, 0)
c = np.fromfile(sys.argv[2], '<f8').reshape(-1, 3).T
ndimage.map_coordinates(a, c, order=1, mode='constant', cval=fill).astype('<f8').tofile(sys.argv[3])
ndimage.map_coordinates(a, c, order=0, mode='grid-constant', cval=fill).astype('<f8').tofile(sys.argv[4])`,
    [files.src, files.coords, files.linear, files.nearest],
  );
  const read = (f: string) => new Float64Array(new Uint8Array(readFileSync(f)).buffer);
  const [refLinear, refNearest] = [read(files.linear), read(files.nearest)];
  assert.equal(refLinear.length, n);
  let maxDiff = 0;
  let ties = 0;
  let filled = 0;
  for (let q = 0; q < n; q++) {
    maxDiff = Math.max(maxDiff, Math.abs(linear.data[q] - refLinear[q]));
    if (refLinear[q] === fill) filled++;
    if ([0, 1, 2].some((d) => Math.abs(coords[3 * q + d] - Math.floor(coords[3 * q + d]) - 0.5) < 1e-9)) {
      ties++;
      continue;
    }
    assert.equal(nearest.data[q], refNearest[q], `nearest differs at view voxel ${q} (source voxel ${[...coords.subarray(3 * q, 3 * q + 3)]})`);
  }
  assert.ok(maxDiff < 1e-4, `linear: max |renderView - scipy| = ${maxDiff}`);
  assert.ok(filled > 0.02 * n && filled < 0.8 * n, `the view should stick partly out of the source (${filled}/${n} filled)`);
  assert.ok(ties < 0.01 * n, `${ties} ties`);
});

test("featureGrid: a pooled voxel's centre is the mean world position of the input voxels it pools", () => {
  const o = { shape: [8, 12, 4] as [number, number, number], spacingMm: [2, 3, 4] as [number, number, number] };
  const view = viewFromParams(params({ rotateDeg: [7, -5, 12], quarterTurns: 1, flip: [true, false, true], centre: [3, -4, 5], scale: 1.2 }), o);
  for (const level of [1, 2]) {
    const f = 2 ** level;
    const g = featureGrid(view, level);
    assert.deepEqual(g.shape, o.shape.map((n) => n / f));
    for (let k = 0; k < g.shape[2]; k++) {
      for (let j = 0; j < g.shape[1]; j++) {
        for (let i = 0; i < g.shape[0]; i++) {
          const mean = [0, 0, 0];
          for (let c = 0; c < f; c++) for (let b = 0; b < f; b++) for (let a = 0; a < f; a++) voxelToWorld(view.affine, [f * i + a, f * j + b, f * k + c]).forEach((x, d) => (mean[d] += x / f ** 3));
          const centre = applyToPoint(g.affine, [i, j, k]);
          for (let d = 0; d < 3; d++) assert.ok(Math.abs(centre[d] - mean[d]) < 1e-9, `level ${level} voxel ${[i, j, k]}: ${centre} vs mean ${mean}`);
        }
      }
    }
  }
  // By hand, on 1 mm voxels at the origin: level 1 voxel 0 pools 0..1 (centre 0.5), level 2 voxel 1 pools 4..7 (centre 5.5).
  const unit = { shape: [8, 8, 4], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] };
  assert.deepEqual(applyToPoint(featureGrid(unit, 1).affine, [0, 0, 0]), [0.5, 0.5, 0.5]);
  assert.deepEqual(applyToPoint(featureGrid(unit, 2).affine, [1, 0, 0]), [5.5, 1.5, 1.5]);
  assert.deepEqual(affineSpacing(featureGrid(view, 2).affine).map((x) => +x.toFixed(9)), o.spacingMm.map((s) => +((4 * s) / 1.2).toFixed(9)));
  assert.throws(() => featureGrid({ shape: [8, 6, 4], affine: unit.affine }, 2), /\[8, 6, 4\].*level 2/);
});

/** A smooth field of world position (wavelengths of 150-350 mm). */
const field = (p: Vec3) => Math.sin(p[0] / 37) + Math.cos(p[1] / 53 + 0.3) + 0.5 * Math.sin((p[2] + p[0]) / 41);

/** b's values sampled at a's voxels through the correspondence. */
function sampleThrough(c: ReturnType<typeof correspondence>, valuesB: ArrayLike<number>): Float64Array {
  const out = new Float64Array(c.count);
  for (let e = 0; e < c.count; e++) for (let q = 0; q < 8; q++) out[e] += c.weights[8 * e + q] * valuesB[c.corners[8 * e + q]];
  return out;
}

test("correspondence: sampling b's feature grid at a's voxels reproduces a smooth field rendered into a", (t) => {
  // The field on a 4 mm source grid, rendered (linear) into two views' level-1 feature grids.
  const sshape = [64, 64, 48];
  const saffine: Affine = [[4, 0, 0, -126], [0, 4, 0, -126], [0, 0, 4, -94], [0, 0, 0, 1]];
  const data = new Float32Array(voxelCount(sshape));
  for (let k = 0, q = 0; k < sshape[2]; k++) for (let j = 0; j < sshape[1]; j++) for (let i = 0; i < sshape[0]; i++, q++) data[q] = field(applyToPoint(saffine, [i, j, k]));
  const src: Volume = { data, shape: sshape, spacing: [4, 4, 4], affine: saffine };
  const o: ViewOptions = { ...PGL_VIEW_DEFAULTS, shape: [32, 32, 16], spacingMm: [3, 3, 3], flip: [true, true, true] };
  const rng = new Random(31);
  const [a, b] = [featureGrid(drawView(src, o, rng), 1), featureGrid(drawView(src, o, rng), 1)];
  const [fa, fb] = [renderView(src, a, "linear"), renderView(src, b, "linear")];
  const c = correspondence(a, b);
  assert.ok(c.count > 0.2 * voxelCount(a.shape) && c.count < voxelCount(a.shape), `partial overlap expected, got ${c.count}/${voxelCount(a.shape)}`);
  assert.equal(overlapFraction(a, b), c.count / voxelCount(a.shape));
  for (let e = 0; e < c.count; e++) {
    let s = 0;
    for (let q = 0; q < 8; q++) {
      const wq = c.weights[8 * e + q];
      assert.ok(wq >= 0 && wq <= 1 && c.corners[8 * e + q] >= 0 && c.corners[8 * e + q] < voxelCount(b.shape));
      s += wq;
    }
    assert.ok(Math.abs(s - 1) < 1e-6, `weights of entry ${e} sum to ${s}`);
  }
  const sampled = sampleThrough(c, fb.data);
  let maxErr = 0;
  let maxWrong = 0;
  for (let e = 0; e < c.count; e++) {
    maxErr = Math.max(maxErr, Math.abs(sampled[e] - fa.data[c.indexA[e]]));
    // Ignoring the geometry (same flat index in b) must be far off: the test can tell.
    maxWrong = Math.max(maxWrong, Math.abs(fb.data[c.indexA[e]] - fa.data[c.indexA[e]]));
  }
  t.diagnostic(`${c.count}/${voxelCount(a.shape)} voxels of a in b; max error ${maxErr.toExponential(2)} (same index, no geometry: ${maxWrong.toFixed(2)})`);
  assert.ok(maxErr < 0.02, `max |b sampled at a - a| = ${maxErr}`);
  assert.ok(maxWrong > 0.3, `the field should vary enough to tell a wrong map (${maxWrong})`);
});

test("correspondence: identical views map one to one with one-hot weights; disjoint views share nothing", () => {
  const view = drawView(SOURCE, { ...PGL_VIEW_DEFAULTS, shape: [8, 6, 4] }, new Random(2));
  const c = correspondence(view, view);
  const n = voxelCount(view.shape);
  assert.equal(c.count, n);
  for (let e = 0; e < n; e++) {
    assert.equal(c.indexA[e], e);
    const w = Array.from(c.weights.subarray(8 * e, 8 * e + 8));
    const top = w.indexOf(Math.max(...w));
    assert.ok(w[top] > 1 - 1e-6, `entry ${e}: weights ${w}`);
    assert.equal(c.corners[8 * e + top], e, `entry ${e}: the weight sits on its own voxel`);
  }
  const far = viewFromParams({ ...view.params, centre: [view.params.centre[0] + 500, view.params.centre[1], view.params.centre[2]] }, { shape: [8, 6, 4], spacingMm: PGL_VIEW_DEFAULTS.spacingMm });
  assert.equal(correspondence(view, far).count, 0);
  assert.equal(overlapFraction(view, far), 0);
});

test("correspondence of two 32^3 grids takes well under 100 ms", (t) => {
  const rng = new Random(4);
  const o = { ...PGL_VIEW_DEFAULTS, shape: [32, 32, 32] as [number, number, number] };
  const [a, b] = [drawView(SOURCE, o, rng), drawView(SOURCE, o, rng)];
  correspondence(a, b);
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    correspondence(a, b);
    times.push(performance.now() - t0);
  }
  const median = times.sort((x, y) => x - y)[2];
  t.diagnostic(`32^3 correspondence: median ${median.toFixed(1)} ms, overlap ${(100 * overlapFraction(a, b)).toFixed(1)}%`);
  assert.ok(median < 100, `median ${median} ms`);
});

test("drawView: the same seed gives the same views; parameters stay in range and rebuild the view", () => {
  const draw = (seed: number, o: ViewOptions = PGL_VIEW_DEFAULTS) => {
    const rng = new Random(seed);
    return [drawView(SOURCE, o, rng), drawView(SOURCE, o, rng)];
  };
  assert.deepEqual(draw(17), draw(17));
  assert.notDeepEqual(draw(17)[0].params, draw(18)[0].params);
  const [v1, v2] = draw(17);
  assert.notDeepEqual(v1.params, v2.params);
  for (const v of draw(17).concat(draw(99), draw(100))) {
    assert.deepEqual(viewFromParams(v.params, PGL_VIEW_DEFAULTS), v);
    const p = v.params;
    assert.ok(p.scale >= 0.8 && p.scale <= 1.25);
    assert.ok(p.rotateDeg.every((x) => Math.abs(x) <= 10));
    assert.ok([0, 1, 2, 3].includes(p.quarterTurns));
    assert.equal(p.flip[1] || p.flip[2], false, "only x flips are enabled by default");
    // The voxel size is spacingMm / scale; the centre voxel sits at the source centre + jitter.
    affineSpacing(v.affine).forEach((s) => assert.ok(Math.abs(s - 3 / p.scale) < 1e-9));
    const centre = applyToPoint(v.affine, [31.5, 31.5, 31.5]);
    const sourceCentre = voxelToWorld(SOURCE.affine, [23.5, 23.5, 11.5]);
    for (let d = 0; d < 3; d++) assert.ok(Math.abs(centre[d] - sourceCentre[d] - p.jitterMm[d]) < 1e-9 && Math.abs(p.jitterMm[d]) <= 24);
  }
  // Turning one transform off leaves every other drawn number as it was.
  const [plain] = draw(17, { ...PGL_VIEW_DEFAULTS, rot90: false });
  assert.deepEqual({ ...plain.params, quarterTurns: v1.params.quarterTurns }, v1.params);
  assert.equal(plain.params.quarterTurns, 0);
});
