// Zhang 2024 pretext A: heatmaps of where the other views' planes cut an image, checked against
// hand-computed values, the phantom's anatomy, and an independent numpy/nibabel computation on
// the real M&Ms-2 sample.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import type { Plane } from "../src/geometry/plane.js";
import { readNifti } from "../src/io/nifti.js";
import type { Volume } from "../src/io/volume.js";
import { generateCardiacExam } from "../src/phantoms/cardiac/index.js";
import { intersectionChannels, planeIntersectionLoss, planeIntersectionTargets } from "../src/pretext/plane-intersection.js";
import { nibabelSkip, runPythonJson, sharedDataPath, sharedDataSkip } from "./helpers/shared-data.js";

// 41 x 41 pixels of 1 mm centred on the origin, one slice in z = 0.
const slice: Volume = { data: new Float32Array(41 * 41), shape: [41, 41, 1], spacing: [1, 1, 1], affine: [[1, 0, 0, -20], [0, 1, 0, -20], [0, 0, 1, 0], [0, 0, 0, 1]] };
const at = (t: Float32Array, x: number, y: number, c: number, C: number) => t[(x + 20 + 41 * (y + 20)) * C + c];

test("hand-computed ridges: exp(-d^2 / 2 sigma^2) of the in-plane distance, channels last", () => {
  const planes: Plane[] = [
    { point: [3, 0, 0], normal: [1, 0, 0] }, // the line x = 3
    // Tilted 45 degrees out of the slice, through the origin: its line is x = 0, and the in-plane
    // distance is |x| although n.(x - p) is only x / sqrt(2).
    { point: [0, 0, 0], normal: [Math.SQRT1_2, 0, Math.SQRT1_2] },
  ];
  const t = planeIntersectionTargets(slice, planes.map((p, i) => ({ name: `p${i}`, planes: [p] })), { sigmaMm: 2 });
  assert.equal(t.length, 41 * 41 * 2);
  assert.ok(Math.abs(at(t, 3, 7, 0, 2) - 1) < 1e-6);
  assert.ok(Math.abs(at(t, 5, -4, 0, 2) - Math.exp(-4 / 8)) < 1e-6);
  assert.ok(Math.abs(at(t, 0, 9, 1, 2) - 1) < 1e-6);
  assert.ok(Math.abs(at(t, 4, 0, 1, 2) - Math.exp(-16 / 8)) < 1e-6, "in-plane distance, not distance to the plane");
  assert.ok(at(t, 20, 0, 0, 2) < 1e-10);
});

test("several planes in one channel give the maximum ridge; parallel planes and bad sigma are errors", () => {
  const lines = [-10, 0, 10].map((x): Plane => ({ point: [x, 0, 0], normal: [1, 0, 0] }));
  const t = planeIntersectionTargets(slice, [{ name: "SA", planes: lines }], { sigmaMm: 3 });
  for (const x of [-10, 0, 10]) assert.ok(Math.abs(at(t, x, 2, 0, 1) - 1) < 1e-6);
  assert.ok(Math.abs(at(t, 4, 0, 0, 1) - Math.exp(-16 / 18)) < 1e-6, "nearest line wins");
  assert.throws(() => planeIntersectionTargets(slice, [{ name: "SA", planes: [{ point: [0, 0, 5], normal: [0, 0, 1] }] }]), /the SA plane is parallel to slice 0/);
  assert.throws(() => planeIntersectionTargets(slice, [{ name: "x", planes: lines }], { sigmaMm: 0 }), /sigmaMm must be > 0/);
});

test("MSE loss: mean of squared differences", () => {
  const p = tf.tensor4d([0, 1, 0.5, 0.2], [1, 2, 2, 1]);
  const q = tf.tensor4d([0, 0, 1, 0.2], [1, 2, 2, 1]);
  assert.ok(Math.abs(planeIntersectionLoss(p, q).dataSync()[0] - (1 + 0.25) / 4) < 1e-7);
});

test("phantoms: on SA slices both ridges cross the LV, the 4CH ridge runs through the RV and the 2CH one does not", () => {
  let lvBoth = 0;
  let slices = 0;
  let rv4 = 0;
  let rv2 = 0;
  for (let seed = 1; seed <= 4; seed++) {
    const exam = generateCardiacExam(seed, { matrix: 48, pixel: 4 });
    const views = { SA: exam.views.SA.ED.image, "2CH": exam.views["2CH"].ED.image, "4CH": exam.views["4CH"].ED.image };
    const channels = intersectionChannels("SA", views);
    assert.deepEqual(channels.map((c) => c.name), ["2CH", "4CH"]);
    const t = planeIntersectionTargets(views.SA, channels);
    const labels = exam.views.SA.ED.labels.data;
    const [nx, ny, nz] = views.SA.shape;
    for (let k = 0; k < nz; k++) {
      let best2 = 0;
      let best4 = 0;
      let hasLv = false;
      for (let o = 0; o < nx * ny; o++) {
        const v = k * nx * ny + o;
        if (labels[v] === 1) {
          hasLv = true;
          best2 = Math.max(best2, t[v * 2]);
          best4 = Math.max(best4, t[v * 2 + 1]);
        }
        if (labels[v] === 3) {
          rv2 += t[v * 2];
          rv4 += t[v * 2 + 1];
        }
      }
      if (!hasLv) continue;
      slices++;
      if (best2 > 0.9 && best4 > 0.9) lvBoth++;
    }
  }
  assert.ok(lvBoth >= 0.9 * slices, `both lines cross the LV on ${lvBoth}/${slices} slices`);
  assert.ok(rv4 > 3 * rv2, `RV heat: 4CH ${rv4.toFixed(0)} vs 2CH ${rv2.toFixed(0)}`);
});

test("long-axis views: the other long-axis views and, optionally, every SA slice in one channel", () => {
  const exam = generateCardiacExam(2, { matrix: 48, pixel: 4 });
  const views = { SA: exam.views.SA.ED.image, "2CH": exam.views["2CH"].ED.image, "3CH": exam.views["3CH"].ED.image, "4CH": exam.views["4CH"].ED.image };
  const channels = intersectionChannels("4CH", views, ["2CH", "3CH", "4CH"], true);
  assert.deepEqual(channels.map((c) => c.name), ["2CH", "3CH", "SA"]);
  assert.equal(channels[2].planes.length, views.SA.shape[2]);
  assert.throws(() => intersectionChannels("SA", { SA: views.SA, "4CH": views["4CH"] }), /need the 2CH view, which is missing/);
});

const mnms = ["mnms2-001", "001_SA_ED.nii.gz"];
const mnmsLa = ["mnms2-001", "001_LA_ED.nii.gz"];
test("M&Ms-2 001: the 4CH heatmap on the SA stack equals an independent numpy computation from nibabel's affines", { skip: sharedDataSkip(mnms, mnmsLa) || nibabelSkip() }, async () => {
  const sa = await readNifti(sharedDataPath(...mnms));
  const la = await readNifti(sharedDataPath(...mnmsLa));
  const sigma = 7.56;
  const t = planeIntersectionTargets(sa, intersectionChannels("SA", { SA: sa, "4CH": la }, ["4CH"]), { sigmaMm: sigma });
  const [nx, ny, nz] = sa.shape;
  const k = Math.floor(nz / 2);
  const ref = runPythonJson<number[]>(
    `
import json, sys, numpy as np, nibabel as nib
sa, la = nib.load(sys.argv[1]), nib.load(sys.argv[2])
A, B = sa.affine, la.affine
k, sigma = int(sys.argv[3]), float(sys.argv[4])
n = np.cross(B[:3, 0], B[:3, 1]); n /= np.linalg.norm(n)
m = np.cross(A[:3, 0], A[:3, 1]); m /= np.linalg.norm(m)
p = B[:3, 3]
nx, ny = sa.shape[:2]
i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")  # j rows, i columns
x = A[:3, 0, None, None] * i + A[:3, 1, None, None] * j + (A[:3, 2] * k + A[:3, 3])[:, None, None]
d = np.tensordot(n, x - p[:, None, None], axes=1) / np.linalg.norm(np.cross(m, n))
json.dump(np.exp(-d ** 2 / (2 * sigma ** 2)).ravel().tolist(), sys.stdout)  # j-major: i fastest
`,
    [sharedDataPath(...mnms), sharedDataPath(...mnmsLa), String(k), String(sigma)],
  );
  assert.equal(ref.length, nx * ny);
  let worst = 0;
  for (let o = 0; o < nx * ny; o++) worst = Math.max(worst, Math.abs(t[k * nx * ny + o] - ref[o]));
  assert.ok(worst < 1e-4, `max difference ${worst}`);
  assert.ok(Math.max(...ref) > 0.99, "the 4CH line crosses the mid SA slice");
});
