// Prepared SA stacks carry Zhang 2024's targets: heatmaps (planar per channel, on the resampled
// grid) and slice locations, computed from the files' affines after loading through the M&Ms-2
// loader, as the protocol does.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { Mnms2Dataset } from "../src/datasets/mnms2.js";
import { sampleBatch } from "../src/experiments/batches.js";
import { prepareLongAxis, prepareStacks } from "../src/experiments/cardiac-stacks.js";
import { applyToPoint } from "../src/geometry/affine.js";
import { slicePlane } from "../src/geometry/plane.js";
import { dot, sub } from "../src/geometry/vec.js";
import { Random } from "../src/random.js";
import { NO_AUGMENT } from "../src/transforms/augment.js";
import { generateCardiacExam, writeCardiacExam } from "../src/phantoms/cardiac/index.js";

test("stacks: heatmaps per long-axis view cross the LV on every LV slice; locations run 0 -> 1 from base to apex", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-stacks-"));
  try {
    await writeCardiacExam(path.join(dir, "005"), "005", generateCardiacExam(5, { matrix: 48, pixel: 4 }));
    const subject = await new Mnms2Dataset(dir).loadSubject("005");
    const size = 32;
    const [ed] = prepareStacks(subject, { size, pixel: 5, labels: true, heatmapViews: ["2CH", "4CH"], sigmaMm: 6, locations: true });
    const area = size * size;
    assert.equal(ed.heatmaps!.length, ed.slices * 2 * area);
    assert.deepEqual(ed.heatmapViews, ["2CH", "4CH"]);
    let lvSlices = 0;
    for (let k = 0; k < ed.slices; k++) {
      const lv = [...ed.labels!.subarray(k * area, (k + 1) * area).keys()].filter((o) => ed.labels![k * area + o] === 1);
      if (lv.length < 5) continue;
      lvSlices++;
      for (let c = 0; c < 2; c++) {
        const map = ed.heatmaps!.subarray((k * 2 + c) * area, (k * 2 + c + 1) * area);
        assert.ok(Math.max(...lv.map((o) => map[o])) > 0.8, `slice ${k}: the ${ed.heatmapViews![c]} ridge crosses the LV`);
        assert.ok(Math.min(...map) >= 0 && Math.max(...map) <= 1);
      }
    }
    assert.ok(lvSlices >= 4);
    // The phantom's SA stack runs base -> apex with k; resampling in-plane keeps the slices.
    ed.locations!.forEach((v, k) => assert.ok(Math.abs(v - k / (ed.slices - 1)) < 1e-5, `slice ${k}: ${v}`));

    // A batch carries the drawn slice's maps channels-last and its location; asking for them
    // changes nothing else (same image, same labels).
    const b = sampleBatch([ed], ["labels"], 1, new Random(4), NO_AUGMENT, { heatmaps: true, locations: true });
    const plain = sampleBatch([ed], ["labels"], 1, new Random(4), NO_AUGMENT);
    const twin = new Random(4);
    twin.int(0, 0);
    const k = twin.int(0, ed.slices - 1);
    assert.deepEqual(b.heatmaps!.shape, [1, size, size, 2]);
    const h = b.heatmaps!.dataSync();
    for (let c = 0; c < 2; c++) for (let o = 0; o < area; o++) assert.ok(Math.abs(h[o * 2 + c] - ed.heatmaps![(k * 2 + c) * area + o]) < 1e-6);
    assert.ok(Math.abs(b.locations!.dataSync()[0] - ed.locations![k]) < 1e-7);
    assert.deepEqual(b.x.dataSync(), plain.x.dataSync());
    assert.deepEqual(b.labels.dataSync(), plain.labels.dataSync());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("long-axis images: one-slice stacks on the training grid, in the same plane, structure areas kept", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-la-"));
  try {
    await writeCardiacExam(path.join(dir, "007"), "007", generateCardiacExam(7, { matrix: 64, pixel: 2.5 }));
    const subject = await new Mnms2Dataset(dir).loadSubject("007");
    const stacks = prepareLongAxis(subject, "4CH", { size: 48, pixel: 3, labels: true });
    assert.deepEqual(stacks.map((s) => [s.phase, s.slices]), [["ED", 1], ["ES", 1]]);
    for (const st of stacks) {
      const la = subject.views["4CH"]![st.phase]!;
      // The resampled grid lies in the original image plane (to float32 rounding of the NIfTI affine).
      const n = slicePlane(la.image, 0);
      for (const ij of [[0, 0], [47, 0], [0, 47], [47, 47]]) {
        const p = applyToPoint(st.grid.affine, [ij[0], ij[1], 0]);
        assert.ok(Math.abs(dot(sub(p, n.point), n.normal)) < 1e-4, `corner ${ij} off the 4CH plane by ${dot(sub(p, n.point), n.normal)} mm`);
      }
      // Areas in mm² of LV, MYO and RV agree with the original labels' (nearest-neighbour resampling).
      for (const label of [1, 2, 3]) {
        const before = la.labels!.data.filter((v) => v === label).length * la.image.spacing[0] * la.image.spacing[1];
        const after = st.labels!.filter((v) => v === label).length * 3 * 3;
        assert.ok(before > 300 && Math.abs(after - before) / before < 0.1, `${st.phase} label ${label}: ${before} mm² -> ${after} mm²`);
      }
    }
    // A "long-axis view" with several slices is refused, naming the subject and the view.
    const tampered = { ...subject, views: { ...subject.views, "4CH": { ...subject.views["4CH"], ED: { image: subject.views.SA!.ED!.image } } } };
    assert.throws(() => prepareLongAxis(tampered, "4CH", { size: 48, pixel: 3, labels: false }), /should be one slice, found \d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
