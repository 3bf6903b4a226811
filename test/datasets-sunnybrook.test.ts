import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { fillPolygon, polygonArea, polygonPerimeter, type Point } from "../src/datasets/polygon.js";
import { SUNNYBROOK_CONTOUR_CENTRE, SunnybrookDataset, parseContourName, parseContourText, parseLinkCsv } from "../src/datasets/sunnybrook.js";
import { LABEL } from "../src/datasets/types.js";
import { readDicomSeries } from "../src/io/dicom.js";
import { VolumeFileError } from "../src/io/errors.js";
import { sharedDataPath, sharedDataSkip } from "./helpers/shared-data.js";

const ROOT = sharedDataPath("sunnybrook");
const skip = sharedDataSkip(["sunnybrook", "link.csv"], ["sunnybrook", "dicoms", "SCD0000101"], ["sunnybrook", "contourfiles", "SC-HF-I-1"]);

test("polygon fill: pixel centres inside, half-open on the boundary", () => {
  const mask = new Uint8Array(10 * 10);
  // A 4 x 3 rectangle on pixel corners (centre offset 0.5) covers exactly 12 pixels.
  const rect: Point[] = [[2, 1], [6, 1], [6, 4], [2, 4]];
  assert.equal(fillPolygon(mask, 10, 10, rect, 1, 0.5), 12);
  assert.equal(polygonArea(rect), 12);
  for (let j = 0; j < 10; j++) for (let i = 0; i < 10; i++) assert.equal(mask[i + 10 * j], i >= 2 && i < 6 && j >= 1 && j < 4 ? 1 : 0, `pixel ${i},${j}`);
  // The same rectangle with integers at pixel centres (offset 0): edges through centres; the
  // half-open rule keeps the left/top ones only, so the area is still 12.
  mask.fill(0);
  assert.equal(fillPolygon(mask, 10, 10, rect, 1, 0), 12);
  assert.equal(mask[2 + 10 * 1], 1);
  assert.equal(mask[6 + 10 * 1], 0);
  // Winding does not matter; clipping at the grid edge does not throw.
  assert.equal(fillPolygon(new Uint8Array(100), 10, 10, [...rect].reverse(), 1, 0.5), 12);
  assert.equal(fillPolygon(new Uint8Array(100), 10, 10, [[-5, -5], [20, -5], [20, 20], [-5, 20]], 1, 0.5), 100);
  assert.equal(polygonPerimeter(rect), 14);
});

test("contour files: names, text and link.csv are parsed strictly", () => {
  assert.deepEqual(parseContourName("IM-0001-0048-icontour-manual.txt"), { series: 1, image: 48, kind: "i" });
  assert.deepEqual(parseContourName("IM-0001-0219-ocontour-manual.txt"), { series: 1, image: 219, kind: "o" });
  assert.equal(parseContourName("IM-0001-0048-p1contour-manual.txt"), undefined);
  assert.deepEqual(parseContourText("120.50 137.50\n121.00 136.50\r\n122 137\n", "c.txt"), [[120.5, 137.5], [121, 136.5], [122, 137]]);
  assert.throws(() => parseContourText("1 2\n3\n", "c.txt"), (e: unknown) => e instanceof VolumeFileError && e.file === "c.txt" && /line 2/.test(e.message));
  assert.throws(() => parseContourText("1 2\n3 4\n", "c.txt"), /at least 3 points/);
  assert.deepEqual([...parseLinkCsv("patient_id,original_id\nSCD0000101,SC-HF-I-1\n", "l.csv")], [["SCD0000101", "SC-HF-I-1"]]);
  assert.throws(() => parseLinkCsv("a,b\n", "l.csv"), /patient_id and original_id/);
});

test("Sunnybrook: ED/ES from the DICOM tags, contour masks match the polygons, plausible ED volume", { skip }, async () => {
  const ds = new SunnybrookDataset(ROOT);
  assert.deepEqual(await ds.listSubjects(), ["SCD0000101", "SCD0000201"]);
  const s = await ds.loadSubject("SCD0000101");
  assert.deepEqual(s.warnings, []);
  assert.equal(s.info.contourId, "SC-HF-I-1");
  assert.equal(s.info.phases, 20);
  assert.equal(s.info.slicePositions, 12);
  // Measured on the data (TriggerTime order within each slice position): epicardial contours sit
  // on phase 18 (ED, ~708 ms), the other endocardial ones on phase 7 (ES, ~287 ms).
  assert.equal(s.info.edPhase, 18);
  assert.equal(s.info.esPhase, 7);
  const contours = await ds.contours("SCD0000101");
  assert.equal(contours.length, 18 + 9);
  for (const c of contours) assert.ok(c.phase === 18 || c.phase === 7, `${c.file} on phase ${c.phase}`);
  assert.ok(contours.filter((c) => c.kind === "o").every((c) => c.phase === 18));

  const ed = s.views.SA!.ED!;
  const es = s.views.SA!.ES!;
  assert.deepEqual(ed.image.shape, [256, 256, 12]);
  assert.deepEqual(ed.annotatedLabels, [LABEL.lv, LABEL.myocardium]);
  assert.deepEqual(es.annotatedLabels, [LABEL.lv]);
  assert.deepEqual(ed.labelledSlices, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(es.labelledSlices, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(ed.labels!.affine, ed.image.affine);

  // Each contoured slice: mask area (pixels) vs polygon area, within half the perimeter + 2.
  const [nx, ny] = ed.image.shape;
  const sliceOf = (files: string[], dicom: string) => files.indexOf(dicom);
  const edFiles = (ed.image as { dicom?: { files: string[] } }).dicom!.files;
  const esFiles = (es.image as { dicom?: { files: string[] } }).dicom!.files;
  let checked = 0;
  for (const c of contours) {
    const isEd = c.phase === 18;
    const li = isEd ? ed : es;
    const k = sliceOf(isEd ? edFiles : esFiles, c.dicom);
    assert.ok(k >= 0);
    let pixels = 0;
    for (let n = k * nx * ny; n < (k + 1) * nx * ny; n++) {
      const l = li.labels!.data[n];
      if (l === LABEL.lv || (c.kind === "o" && l === LABEL.myocardium)) pixels++;
    }
    const area = polygonArea(c.points);
    const tolerance = polygonPerimeter(c.points) / 2 + 2;
    assert.ok(Math.abs(pixels - area) <= tolerance, `${c.file}: mask ${pixels} px vs polygon ${area.toFixed(1)} px (tolerance ${tolerance.toFixed(1)})`);
    checked++;
  }
  assert.equal(checked, 27);

  // The endocardium encloses bright blood: on every ED slice the blood pool is brighter than the
  // myocardial ring (swapping x and y breaks this; see sunnybrook.ts for the offset fit).
  for (const k of ed.labelledSlices!) {
    let [sumLv, nLv, sumMyo, nMyo] = [0, 0, 0, 0];
    for (let n = k * nx * ny; n < (k + 1) * nx * ny; n++) {
      if (ed.labels!.data[n] === LABEL.lv) [sumLv, nLv] = [sumLv + ed.image.data[n], nLv + 1];
      if (ed.labels!.data[n] === LABEL.myocardium) [sumMyo, nMyo] = [sumMyo + ed.image.data[n], nMyo + 1];
    }
    assert.ok(sumLv / nLv > 1.5 * (sumMyo / nMyo), `slice ${k}: blood ${(sumLv / nLv).toFixed(0)} vs myocardium ${(sumMyo / nMyo).toFixed(0)}`);
  }

  // ED LV blood-pool volume: pixels x pixel area x slice spacing over the contoured slices.
  const [sx, sy, sz] = ed.image.spacing;
  const volume = (labels: Uint8Array, label: number) => (labels.reduce((a, l) => a + (l === label ? 1 : 0), 0) * sx * sy * sz) / 1000;
  const edv = volume(ed.labels!.data, LABEL.lv);
  const esv = volume(es.labels!.data, LABEL.lv);
  console.log(`# Sunnybrook SCD0000101 (SC-HF-I-1): ED LV blood pool ${edv.toFixed(1)} ml, ES ${esv.toFixed(1)} ml, EF ${((100 * (edv - esv)) / edv).toFixed(0)}%, ` +
    `ED myocardium ${volume(ed.labels!.data, LABEL.myocardium).toFixed(1)} ml (pixel ${sx.toFixed(3)} mm, slices ${sz.toFixed(2)} mm, centre offset ${SUNNYBROOK_CONTOUR_CENTRE})`);
  assert.ok(edv >= 60 && edv <= 300, `ED volume ${edv} ml`);
  assert.ok(esv < edv);
});

test("Sunnybrook: second subject, the cine as 4D, and errors naming the file", { skip }, async () => {
  const ds = new SunnybrookDataset(ROOT);
  const s = await ds.loadSubject("SCD0000201", { phases: ["ED"] });
  assert.equal(s.info.edPhase, 19);
  assert.equal(s.info.esPhase, 6);
  assert.equal(s.views.SA?.ES, undefined);
  const ed = s.views.SA!.ED!;
  const [sx, sy, sz] = ed.image.spacing;
  const edv = (ed.labels!.data.reduce((a, l) => a + (l === LABEL.lv ? 1 : 0), 0) * sx * sy * sz) / 1000;
  console.log(`# Sunnybrook SCD0000201 (SC-HF-I-2): ED LV blood pool ${edv.toFixed(1)} ml`);
  assert.ok(edv >= 60 && edv <= 300);

  const cine = await ds.loadCine("SCD0000201");
  assert.deepEqual(cine.shape, [256, 256, 13, 20]);
  assert.ok(cine.spacing[3] > 0.02 && cine.spacing[3] < 0.06, `frame step ${cine.spacing[3]} s`);
  const per = 256 * 256 * 13;
  assert.deepEqual(cine.data.subarray(19 * per, 20 * per), ed.image.data, "cine frame 19 is the ED volume");

  await assert.rejects(ds.loadSubject("SCD9999999"), (e: unknown) => e instanceof VolumeFileError && /not in the link file/.test(e.message));
  await assert.rejects(ds.loadSubject("SCD0000101", { views: ["4CH"] }), /short-axis images only/);

  // A copy whose contours point at a missing image, or off the image: the contour file is named.
  const tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-sunnybrook-"));
  try {
    mkdirSync(path.join(tmp, "dicoms"));
    symlinkSync(path.join(ROOT, "dicoms", "SCD0000101"), path.join(tmp, "dicoms", "SCD0000101"));
    writeFileSync(path.join(tmp, "link.csv"), "patient_id,original_id\nSCD0000101,X-1\n");
    const dir = path.join(tmp, "contourfiles", "X-1");
    mkdirSync(path.join(dir, "i-contours"), { recursive: true });
    mkdirSync(path.join(dir, "o-contours"), { recursive: true });
    const bad = path.join(dir, "i-contours", "IM-0001-0999-icontour-manual.txt");
    writeFileSync(bad, "10 10\n20 10\n20 20\n");
    const copy = new SunnybrookDataset(tmp);
    await assert.rejects(copy.loadSubject("SCD0000101"), (e: unknown) => e instanceof VolumeFileError && e.file === bad && /image is missing: expected .*999\.dcm/.test(e.message));
    rmSync(bad);
    const off = path.join(dir, "o-contours", "IM-0001-0059-ocontour-manual.txt");
    writeFileSync(path.join(dir, "i-contours", "IM-0001-0059-icontour-manual.txt"), "10 10\n20 10\n20 20\n");
    writeFileSync(off, "10 10\n300 10\n20 20\n");
    await assert.rejects(copy.loadSubject("SCD0000101"), (e: unknown) => e instanceof VolumeFileError && e.file === off && /outside the 256x256 image/.test(e.message));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

/** Bilinear sample of a 2D slice (x fastest), clamped at the border. */
function sample(img: ArrayLike<number>, nx: number, ny: number, x: number, y: number): number {
  const [i0, j0] = [Math.floor(x), Math.floor(y)];
  const [fx, fy] = [x - i0, y - j0];
  const at = (i: number, j: number) => img[Math.min(ny - 1, Math.max(0, j)) * nx + Math.min(nx - 1, Math.max(0, i))];
  return at(i0, j0) * (1 - fx) * (1 - fy) + at(i0 + 1, j0) * fx * (1 - fy) + at(i0, j0 + 1) * (1 - fx) * fy + at(i0 + 1, j0 + 1) * fx * fy;
}

test("Sunnybrook contour convention: x = column, y = row, pixel centres at +0.5 (fit to the blood-pool edge)", { skip }, async () => {
  // Along each endocardial contour edge, find the steepest bright-to-dark step of the image along
  // the outward normal (within 3 px), then fit  step = n . t + b  by weighted least squares:
  // t = where the image edge sits relative to the contour (contour coordinates read as pixel
  // indices, centre of pixel i at i), b = the annotators' radial offset, which a plain mean would
  // confuse with t. The step search on a bilinear image snaps to the pixel grid (a bias of up to
  // ~0.2 px that depends on the sub-pixel phase), so the fit is repeated with the contour moved by
  // 0, 1/4, 1/2, 3/4 px and the moves taken back out: the periodic bias averages away.
  // If pixel i's centre is at contour coordinate i + d, then t = -d for an unbiased annotator.
  const ds = new SunnybrookDataset(ROOT);
  const offsets: number[][] = [];
  for (const id of ["SCD0000101", "SCD0000201"]) {
    const slices = [];
    for (const c of (await ds.contours(id)).filter((c) => c.kind === "i")) slices.push({ c, img: await readDicomSeries([c.dicom]) });
    const sum = [0, 0];
    for (const shift of [0, 0.25, 0.5, 0.75]) {
      const m = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
      const v = [0, 0, 0];
      for (const { c, img } of slices) {
        const [nx, ny] = img.shape;
        const pts = c.points.map(([x, y]) => [x - shift, y - shift]);
        const orient = Math.sign(pts.reduce((a, [x1, y1], n) => a + x1 * pts[(n + 1) % pts.length][1] - pts[(n + 1) % pts.length][0] * y1, 0));
        pts.forEach(([x1, y1], n) => {
          const [x2, y2] = pts[(n + 1) % pts.length];
          const len = Math.hypot(x2 - x1, y2 - y1);
          if (len === 0) return;
          const [ux, uy] = [((y2 - y1) / len) * orient, (-(x2 - x1) / len) * orient]; // outward normal
          const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
          let [best, at] = [0, 0];
          for (let t = -3; t <= 3; t += 1 / 16) {
            const step = sample(img.data, nx, ny, mx + (t - 0.5) * ux, my + (t - 0.5) * uy) - sample(img.data, nx, ny, mx + (t + 0.5) * ux, my + (t + 0.5) * uy);
            if (step > best) [best, at] = [step, t];
          }
          if (best <= 0) return;
          const row = [ux, uy, 1];
          for (let r = 0; r < 3; r++) {
            v[r] += best * len * row[r] * at;
            for (let q = 0; q < 3; q++) m[r][q] += best * len * row[r] * row[q];
          }
        });
      }
      const [tx, ty] = solve3(m, v);
      sum[0] += -(tx - shift) / 4;
      sum[1] += -(ty - shift) / 4;
    }
    offsets.push(sum);
  }
  console.log(`# pixel centre at contour coordinate i + d: d = (${offsets[0].map((x) => x.toFixed(2)).join(", ")}) for SC-HF-I-1, ` +
    `(${offsets[1].map((x) => x.toFixed(2)).join(", ")}) for SC-HF-I-2; the loader uses ${SUNNYBROOK_CONTOUR_CENTRE}`);
  // Measured: d = (0.72, 0.58) and (0.88, 0.49). Integers at pixel centres (d = 0) is clearly
  // wrong; of the simple conventions, corners (0.5) is the nearest (mean 0.67).
  const mean = offsets.flat().reduce((a, b) => a + b, 0) / 4;
  for (const d of offsets.flat()) assert.ok(d > 0.3 && d < 1.1, `offset ${d.toFixed(2)}`);
  assert.ok(Math.abs(mean - SUNNYBROOK_CONTOUR_CENTRE) < Math.min(Math.abs(mean), Math.abs(mean - 1)), `mean offset ${mean.toFixed(2)}`);
});

function solve3(a: number[][], b: number[]): number[] {
  const m = a.map((row, r) => [...row, b[r]]);
  for (let c = 0; c < 3; c++) {
    const p = [c, c + 1, c + 2].filter((r) => r < 3).reduce((x, y) => (Math.abs(m[y][c]) > Math.abs(m[x][c]) ? y : x));
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let k = c; k < 4; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, r) => row[3] / row[r]);
}
