import assert from "node:assert/strict";
import { test } from "node:test";
import type { Plane } from "../src/geometry/plane.js";
import { readNifti } from "../src/io/nifti.js";
import type { Volume } from "../src/io/volume.js";
import { generateCardiacExam } from "../src/phantoms/cardiac/index.js";
import {
  anatomicalPositionClasses,
  anatomicalPositionTargets,
  ORIENT_2CH,
  ORIENT_4CH,
  orientedViewPlane,
} from "../src/pretext/anatomical-position.js";
import { sharedDataPath, sharedDataSkip } from "./helpers/shared-data.js";

test("hand-computed tiles: bands of 10 mm centred on the planes x = 0 and y = 0", () => {
  // 41 x 41 pixels of 1 mm centred on the origin.
  const sa: Volume = { data: new Float32Array(41 * 41), shape: [41, 41, 1], spacing: [1, 1, 1], affine: [[1, 0, 0, -20], [0, 1, 0, -20], [0, 0, 1, 0], [0, 0, 0, 1]] };
  const planes: Plane[] = [
    { point: [0, 0, 0], normal: [1, 0, 0] },
    { point: [0, 0, 0], normal: [0, 1, 0] },
  ];
  const t = anatomicalPositionTargets(sa, planes, { tileMm: 10 });
  const at = (x: number, y: number) => t[x + 20 + 41 * (y + 20)];
  assert.equal(at(0, 0), 5); // middle of both bands: 1*3 + 1 + 1
  assert.equal(at(12, -3), 8); // x band 2, y band 1: 2*3 + 1 + 1
  assert.equal(at(-12, -12), 1); // bands 0, 0
  assert.equal(at(14, 14), 9);
  assert.equal(at(4, 5), 6); // y = 5 is the first pixel of band 2 (boundary at +0.5 tile)
  assert.equal(at(16, 0), 0); // beyond 1.5 tiles: background
  assert.equal(at(0, -20), 0);
  assert.equal(anatomicalPositionClasses(2), 10);
  assert.equal(anatomicalPositionClasses(1), 4);
});

/** Centroid (pixel coords) of label `l` on slice k, or undefined. */
function centroid(labels: Volume, k: number, l: number): [number, number] | undefined {
  const [nx, ny] = labels.shape;
  let n = 0;
  let si = 0;
  let sj = 0;
  for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) if (Math.round(labels.data[i + nx * (j + ny * k)]) === l) [n, si, sj] = [n + 1, si + i, sj + j];
  return n > 0 ? [si / n, sj / n] : undefined;
}

test("synthetic subjects: the LV sits in the centre tile and the RV in the same tile in every subject", () => {
  let slices = 0;
  let lvCentre = 0;
  const rvTiles = new Map<number, number>();
  const seen = new Set<number>();
  for (let seed = 1; seed <= 6; seed++) {
    const exam = generateCardiacExam(seed, { matrix: 64, pixel: 3 });
    const sa = exam.views.SA.ED;
    const planes = [orientedViewPlane(exam.views["2CH"].ED.image, ORIENT_2CH), orientedViewPlane(exam.views["4CH"].ED.image, ORIENT_4CH)];
    const targets = anatomicalPositionTargets(sa.image, planes);
    const [nx, ny, nz] = sa.image.shape;
    for (let k = 0; k < nz; k++) {
      const lv = centroid(sa.labels, k, 1);
      const rv = centroid(sa.labels, k, 3);
      if (!lv || !rv) continue;
      slices++;
      const tileAt = ([i, j]: [number, number]) => targets[Math.round(i) + nx * (Math.round(j) + ny * k)];
      if (tileAt(lv) === 5) lvCentre++;
      rvTiles.set(tileAt(rv), (rvTiles.get(tileAt(rv)) ?? 0) + 1);
      for (let o = k * nx * ny; o < (k + 1) * nx * ny; o++) seen.add(targets[o]);
    }
  }
  const [commonRvTile, commonCount] = [...rvTiles.entries()].sort((a, b) => b[1] - a[1])[0];
  console.log(`LV centroid in the centre tile on ${lvCentre}/${slices} SA slices; RV centroid tiles ${JSON.stringify([...rvTiles])}`);
  assert.ok(lvCentre / slices >= 0.9);
  // The RV is to the patient's right of the 2CH plane (band 2) and near the 4CH plane (band 1).
  assert.equal(commonRvTile, 8);
  assert.ok(commonCount / slices >= 0.8);
  assert.deepEqual([...seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test("M&Ms-2 subject 001 (4CH only): the real 4CH band holds both ventricles on mid slices", { skip: sharedDataSkip(["mnms2-001"]) }, async () => {
  const dir = sharedDataPath("mnms2-001");
  const sa = await readNifti(`${dir}/001_SA_ED.nii.gz`);
  const labels = await readNifti(`${dir}/001_SA_ED_gt.nii.gz`);
  const la = await readNifti(`${dir}/001_LA_ED.nii.gz`);
  const targets = anatomicalPositionTargets(sa, [orientedViewPlane(la, ORIENT_4CH)]);
  const [nx, ny, nz] = sa.shape;
  let slices = 0;
  let both = 0;
  for (let k = 0; k < nz; k++) {
    const lv = centroid(labels, k, 1);
    const rv = centroid(labels, k, 3);
    if (!lv || !rv) continue;
    slices++;
    const tileAt = ([i, j]: [number, number]) => targets[Math.round(i) + nx * (Math.round(j) + ny * k)];
    if (tileAt(lv) === 2 && tileAt(rv) === 2) both++;
  }
  console.log(`M&Ms-2 001: LV and RV centroids in the 4CH middle band on ${both}/${slices} SA slices`);
  assert.ok(slices >= 6);
  assert.ok(both / slices >= 0.8);
});
