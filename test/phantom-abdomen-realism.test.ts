/**
 * The realism measurements (src/phantoms/abdomen/realism.ts) against numpy/scipy on the real
 * TotalSegmentator sample, the one-label kidney split against the sample's own per-side labels,
 * and the comparison table's arithmetic on measurements whose answer is known.
 */
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { niftiLabelNames, readNifti } from "../src/io";
import {
  kidneyPairFromComponents,
  kidneyPairFromLabels,
  labelHuStats,
  labelValue,
  realismRows,
  type Kits19Measures,
  type KidneyPair,
  type PhantomMeasures,
  type RealCtMeasures,
} from "../src/phantoms/abdomen";
import { nibabelSkip, runPythonJson, sharedDataPath, sharedDataSkip } from "./helpers/shared-data";

const CT = ["totalsegmentator", "example_ct_sm.nii.gz"];
const SEG = ["totalsegmentator", "example_seg.nii.gz"];

describe("realism measurements on the real TotalSegmentator sample", { skip: sharedDataSkip(CT, SEG) || nibabelSkip() }, () => {
  test("liver HU mean and sd (whole label and eroded by one voxel) equal numpy's; kidney ml equal voxel counts x voxel volume", async () => {
    const [image, labels] = await Promise.all([readNifti(sharedDataPath(...CT)), readNifti(sharedDataPath(...SEG))]);
    const names = niftiLabelNames(labels)!;
    const liver = labelValue(names, "liver")!;
    const ref = runPythonJson<{ all: number[]; eroded: number[]; kidneys: Record<string, number[]> }>(
      "import json, sys, numpy as np, nibabel as nib\n" +
        "from scipy import ndimage\n" +
        "img = np.asarray(nib.load(sys.argv[1]).dataobj).astype(float)\n" +
        "seg = nib.load(sys.argv[2]); lab = np.asarray(seg.dataobj)\n" +
        "m = lab == 5; e = ndimage.binary_erosion(m)\n" +
        "vox = abs(np.linalg.det(seg.affine[:3, :3])) / 1000\n" +
        "k = {}\n" +
        "for side, v in (('right', 2), ('left', 3)):\n" +
        "    idx = np.argwhere(lab == v); c = seg.affine[:3, :3] @ idx.mean(0) + seg.affine[:3, 3]\n" +
        "    k[side] = [len(idx) * vox, float(c[2])]\n" +
        "print(json.dumps({'all': [int(m.sum()), img[m].mean(), img[m].std()], 'eroded': [int(e.sum()), img[e].mean(), img[e].std()], 'kidneys': k}))",
      [sharedDataPath(...CT), sharedDataPath(...SEG)],
    );
    for (const [erode, want] of [[false, ref.all], [true, ref.eroded]] as const) {
      const got = labelHuStats(image, labels, [liver], { erode })!;
      assert.equal(got.voxels, want[0], `voxels (erode ${erode})`);
      assert.ok(Math.abs(got.mean - want[1]) < 1e-9, `mean ${got.mean} vs numpy ${want[1]} (erode ${erode})`);
      assert.ok(Math.abs(got.sd - want[2]) < 1e-9, `sd ${got.sd} vs numpy ${want[2]} (erode ${erode})`);
    }
    const k = kidneyPairFromLabels(labels, [labelValue(names, "kidney_left")!], [labelValue(names, "kidney_right")!]);
    for (const side of ["left", "right"] as const) {
      assert.ok(Math.abs(k[side].ml - ref.kidneys[side][0]) < 1e-6, `${side} ml ${k[side].ml} vs ${ref.kidneys[side][0]}`);
      assert.ok(Math.abs(k[side].centroid[2] - ref.kidneys[side][1]) < 1e-6, `${side} centroid z`);
      // Both kidneys reach the sample's lowest slice (30 slices of 3 mm): cut off, and flagged.
      assert.equal(k[side].truncated, true);
    }
    assert.ok(Math.abs(k.offsetMm - (ref.kidneys.left[1] - ref.kidneys.right[1])) < 1e-6);
  });

  test("one kidney label for both sides (as in KiTS19) splits into the sample's own left and right kidneys", async () => {
    const labels = await readNifti(sharedDataPath(...SEG));
    const names = niftiLabelNames(labels)!;
    const [left, right] = [labelValue(names, "kidney_left")!, labelValue(names, "kidney_right")!];
    const bySide = kidneyPairFromLabels(labels, [left], [right]);
    // Merge both kidneys into label 1, as KiTS19 stores them; other organs become background.
    const merged = { ...labels, data: Uint8Array.from(labels.data, (v) => (v === left || v === right ? 1 : 0)) };
    const split = kidneyPairFromComponents(merged, [1]);
    assert.deepEqual(split, bySide);
  });
});

describe("the comparison table", () => {
  const kidney = (ml: number, z: number, truncated = false) => ({ voxels: ml, ml, centroid: [0, 0, z] as [number, number, number], truncated });
  const pair = (l: number, r: number, lz: number, rz: number, truncated = false): KidneyPair => ({ left: kidney(l, lz, truncated), right: kidney(r, rz, truncated), offsetMm: lz - rz });
  const hu = (mean: number, sd: number) => ({ voxels: 100, mean, sd });

  test("phantom mean and sd over seeds, real values, and truncated real kidneys left out", () => {
    const phantom: PhantomMeasures[] = [
      { seed: 1, hu: { liver: { all: hu(50, 20), eroded: hu(52, 10) } }, kidneys: pair(150, 170, 0, -10), hasTumor: false },
      { seed: 2, hu: { liver: { all: hu(60, 22), eroded: hu(62, 12) } }, kidneys: pair(190, 210, 5, -15), hasTumor: true },
    ];
    const ct: RealCtMeasures = { source: "ct", hu: { liver: { all: hu(45, 15), eroded: hu(46, 13) } }, kidneys: pair(99, 107, 122, 118, true) };
    const kits: Kits19Measures[] = [
      { source: "a/case_00000_segmentation.nii.gz", kidneys: pair(180, 200, 10, -10), upperPoleMedialMm: { left: 1, right: 1 } },
      { source: "a/case_00001_segmentation.nii.gz", kidneys: pair(240, 260, 0, -4), upperPoleMedialMm: { left: 1, right: 1 } },
    ];
    const rows = realismRows(phantom, ct, kits);
    const row = (q: string, organ: string) => rows.find((r) => r.quantity === q && r.organ === organ)!;
    assert.deepEqual([row("HU mean", "liver").phantomMean, row("HU mean", "liver").phantomSd, row("HU mean", "liver").real], [55, Math.sqrt(50), 45]);
    assert.deepEqual([row("HU sd, eroded", "liver").phantomMean, row("HU sd, eroded", "liver").real], [11, 13]);
    assert.equal(row("HU mean", "spleen").real, null, "organs absent from the real map have no real value");
    assert.deepEqual([row("volume", "kidney_left").phantomMean, row("volume", "kidney_left").real, row("volume", "kidney_left").realN], [170, 210, 2]);
    assert.match(row("volume", "kidney_left").realNote, /TotalSegmentator 99\.0 \(truncated, unused\)/);
    const offset = row("craniocaudal offset (right lower > 0)", "kidneys");
    assert.deepEqual([offset.phantomMean, offset.real], [15, 12]);
    assert.match(offset.realNote, /case_00000 20\.0; case_00001 4\.0/);
  });
});
