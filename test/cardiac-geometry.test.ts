// Issue 3's checks of plane geometry on real and synthetic cardiac exams: the line where a
// long-axis plane cuts a short-axis slice, computed from the two affines alone, must run through
// the structures that plane was planned through (4CH: LV and RV; 2CH: LV only).
import assert from "node:assert/strict";
import { test } from "node:test";
import { lineInSlice, slicePlane, type Plane } from "../src/geometry/index.js";
import { readNifti } from "../src/io/nifti.js";
import type { Volume } from "../src/io/volume.js";
import { generateCardiacExam } from "../src/phantoms/cardiac/index.js";
import { sharedDataPath, sharedDataSkip } from "./helpers/shared-data.js";

/** Labels (1 LV, 2 myo, 3 RV) of the pixels of slice k within half a pixel of the plane's line. */
function labelsOnLine(sa: Volume, labels: Volume, k: number, plane: Plane): number[] {
  const [nx, ny] = sa.shape;
  const line = lineInSlice(sa, k, plane);
  assert.ok(line, "long-axis plane parallel to a short-axis slice");
  const counts = [0, 0, 0, 0];
  for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    if (Math.abs(line.a * i + line.b * j + line.c) <= 0.5) counts[Math.round(labels.data[i + nx * (j + ny * k)])]++;
  }
  return counts;
}

/** Slices holding LV labels, middle half of them: the mid-ventricular slices. */
function midVentricularSlices(labels: Volume): number[] {
  const [nx, ny, nz] = labels.shape;
  const withLv: number[] = [];
  for (let k = 0; k < nz; k++) {
    let n = 0;
    for (let o = k * nx * ny; o < (k + 1) * nx * ny; o++) if (Math.round(labels.data[o]) === 1) n++;
    if (n > 0) withLv.push(k);
  }
  const q = Math.floor(withLv.length / 4);
  return withLv.slice(q, withLv.length - q);
}

const mnms = ["mnms2-001"];
test("M&Ms-2 subject 001: the real 4CH plane cuts the mid-ventricular SA slices through LV and RV", { skip: sharedDataSkip(mnms) }, async () => {
  const dir = sharedDataPath("mnms2-001");
  const sa = await readNifti(`${dir}/001_SA_ED.nii.gz`);
  const saLabels = await readNifti(`${dir}/001_SA_ED_gt.nii.gz`);
  const la = await readNifti(`${dir}/001_LA_ED.nii.gz`);
  const plane = slicePlane(la, 0);
  const slices = midVentricularSlices(saLabels);
  const hits = slices.filter((k) => {
    const c = labelsOnLine(sa, saLabels, k, plane);
    return c[1] > 0 && c[3] > 0;
  });
  const fraction = hits.length / slices.length;
  console.log(`M&Ms-2 001: 4CH line crosses LV and RV on ${hits.length}/${slices.length} mid-ventricular SA slices (${(100 * fraction).toFixed(0)}%)`);
  assert.ok(slices.length >= 4);
  assert.ok(fraction >= 0.9, `only ${hits.length}/${slices.length}`);
  // Negative control: the same plane moved 60 mm along its normal misses the ventricles, so the
  // check above is not passing by accident.
  const moved: Plane = { point: plane.point.map((x, i) => x + 60 * plane.normal[i]) as Plane["point"], normal: plane.normal };
  const missed = slices.filter((k) => {
    const c = labelsOnLine(sa, saLabels, k, moved);
    return c[1] === 0 && c[3] === 0;
  });
  assert.equal(missed.length, slices.length);
});

test("synthetic exams: 4CH cuts LV and RV, 2CH cuts the LV only, on mid-ventricular SA slices", () => {
  const options = { matrix: 64, pixel: 4 };
  let slices4 = 0;
  let ok4 = 0;
  let slices2 = 0;
  let ok2 = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const exam = generateCardiacExam(seed, options);
    for (const phase of ["ED", "ES"] as const) {
      const sa = exam.views.SA[phase];
      const four = slicePlane(exam.views["4CH"][phase].image, 0);
      const two = slicePlane(exam.views["2CH"][phase].image, 0);
      for (const k of midVentricularSlices(sa.labels)) {
        const c4 = labelsOnLine(sa.image, sa.labels, k, four);
        const c2 = labelsOnLine(sa.image, sa.labels, k, two);
        slices4++;
        slices2++;
        if (c4[1] > 0 && c4[3] > 0) ok4++;
        if (c2[1] > 0 && c2[3] === 0) ok2++;
      }
    }
  }
  console.log(`synthetic: 4CH crosses LV+RV on ${ok4}/${slices4}, 2CH crosses LV and not RV on ${ok2}/${slices2} mid-ventricular SA slices`);
  assert.ok(ok4 / slices4 >= 0.95, `4CH: ${ok4}/${slices4}`);
  assert.ok(ok2 / slices2 >= 0.95, `2CH: ${ok2}/${slices2}`);
});
