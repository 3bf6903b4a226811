/**
 * The synthetic abdominal CT: reproducibility, anatomy in world coordinates (from the affine),
 * kidney volumes against the analytic ellipsoids, and HU inside each label checked by numpy on
 * the written NIfTI files. Small grids keep it fast.
 */
import { after, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { writeNifti } from "../src/io/nifti";
import { voxelToWorld, type Volume } from "../src/io/volume";
import { ABDOMEN_LABELS as L, generateAbdomenCt, kidneyPairFromLabels, TISSUES, type AbdomenCtOptions, type Material } from "../src/phantoms/abdomen";
import { nibabelSkip, runPythonJson } from "./helpers/shared-data";

const tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-abdomen-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** 64 x 64 x 40 voxels of 6 x 6 x 5 mm: the whole abdomen, coarse. */
const SMALL: AbdomenCtOptions = { matrix: 64, pixelMm: 6, slices: 40, sliceMm: 5 };

/** World centroid (RAS mm) of a label, computed here from the affine. */
function centroid(labels: Volume, label: number): number[] {
  const [nx, ny] = labels.shape;
  const s = [0, 0, 0];
  let n = 0;
  labels.data.forEach((v, o) => {
    if (v !== label) return;
    s[0] += o % nx;
    s[1] += Math.floor(o / nx) % ny;
    s[2] += Math.floor(o / (nx * ny));
    n++;
  });
  assert.ok(n > 0, `label ${label} is present`);
  return voxelToWorld(labels.affine, s.map((x) => x / n));
}

describe("abdominal CT phantom: reproducibility and grid", () => {
  test("the same seed gives identical subject, image and labels; another seed differs", () => {
    const a = generateAbdomenCt(7, SMALL);
    const b = generateAbdomenCt(7, SMALL);
    const c = generateAbdomenCt(8, SMALL);
    assert.deepEqual(a.subject, b.subject);
    assert.deepEqual(a.image.data, b.image.data);
    assert.deepEqual(a.labels.data, b.labels.data);
    assert.notDeepEqual(a.subject, c.subject);
    const differing = a.image.data.filter((v, i) => v !== c.image.data[i]).length;
    assert.ok(differing > a.image.data.length / 4, `seeds 7 and 8 differ in ${differing} voxels`);
  });

  test("RAS+ axial grid as asked: shape, spacing, both volumes on one affine, CT range", () => {
    const ct = generateAbdomenCt(3, { matrix: 32, pixelMm: 10, slices: 12, sliceMm: 7.5, centreZ: 20 });
    assert.deepEqual(ct.image.shape, [32, 32, 12]);
    assert.deepEqual(ct.image.spacing, [10, 10, 7.5]);
    assert.deepEqual(ct.labels.affine, ct.image.affine);
    // First index towards +x (patient's right), second anterior, third superior; centred at z = 20.
    assert.deepEqual(ct.image.affine.slice(0, 3).map((r) => r.slice(0, 3)), [[10, 0, 0], [0, 10, 0], [0, 0, 7.5]]);
    assert.equal(voxelToWorld(ct.image.affine, [15.5, 15.5, 5.5]).join(), [0, 0, 20].join());
    const min = Math.min(...ct.image.data);
    const max = Math.max(...ct.image.data);
    assert.ok(min >= -1024 && min < -900, `air outside the body: min ${min}`);
    assert.ok(max > 200 && max <= 3071, `bone: max ${max}`);
  });

  test("bad acquisition options are refused with the option's name", () => {
    assert.throws(() => generateAbdomenCt(1, { matrix: 0 }), /matrix/);
    assert.throws(() => generateAbdomenCt(1, { throughSamples: 2 }), /throughSamples must be odd/);
    assert.throws(() => generateAbdomenCt(1, { sliceMm: -1 }), /sliceMm/);
  });
});

describe("abdominal CT phantom: anatomy in world coordinates", () => {
  const seeds = [1, 2, 3, 4, 5, 6];
  const cts = seeds.map((s) => generateAbdomenCt(s, { ...SMALL, tumorProbability: 0 }));

  test("liver on the patient's right (+x), spleen on the left, relative to the spine and to x = 0", () => {
    for (const ct of cts) {
      const spine = centroid(ct.labels, L.spine);
      const liver = centroid(ct.labels, L.liver);
      const spleen = centroid(ct.labels, L.spleen);
      assert.ok(liver[0] > spine[0] + 20 && liver[0] > 0, `seed ${ct.subject.seed}: liver x ${liver[0].toFixed(0)}, spine x ${spine[0].toFixed(0)}`);
      assert.ok(spleen[0] < spine[0] - 50 && spleen[0] < 0, `seed ${ct.subject.seed}: spleen x ${spleen[0].toFixed(0)}`);
    }
  });

  test("aorta left of the midline and in front of the spine; IVC right of it", () => {
    for (const ct of cts) {
      const spine = centroid(ct.labels, L.spine);
      const aorta = centroid(ct.labels, L.aorta);
      const ivc = centroid(ct.labels, L.ivc);
      const s = ct.subject.seed;
      assert.ok(aorta[0] < spine[0] - 3, `seed ${s}: aorta x ${aorta[0].toFixed(1)} vs spine ${spine[0].toFixed(1)}`);
      assert.ok(aorta[1] > spine[1] + 15, `seed ${s}: aorta y ${aorta[1].toFixed(1)} vs spine ${spine[1].toFixed(1)}`);
      assert.ok(ivc[0] > spine[0] + 5, `seed ${s}: ivc x ${ivc[0].toFixed(1)}`);
      assert.ok(ivc[1] > spine[1] + 15, `seed ${s}: ivc y ${ivc[1].toFixed(1)}`);
    }
  });

  test("kidneys either side of the spine; the right one lower on average, as configured", () => {
    const more = [7, 8, 9, 10, 11, 12].map((s) => generateAbdomenCt(s, { ...SMALL, tumorProbability: 0 }));
    const offsets = [...cts, ...more].map((ct) => {
      const k = kidneyPairFromLabels(ct.labels, [L.kidney_left], [L.kidney_right]);
      const spine = centroid(ct.labels, L.spine);
      assert.ok(k.right.centroid[0] > spine[0] + 40 && k.left.centroid[0] < spine[0] - 40, `seed ${ct.subject.seed}: kidney x`);
      // The measured offset follows the sampled kidney centres (ripples and neighbours move it a little).
      const configured = ct.subject.kidneys.left.shape.centre[2] - ct.subject.kidneys.right.shape.centre[2];
      assert.ok(Math.abs(k.offsetMm - configured) < 8, `seed ${ct.subject.seed}: offset ${k.offsetMm.toFixed(1)} vs configured ${configured.toFixed(1)}`);
      return k.offsetMm;
    });
    const mean = offsets.reduce((a, b) => a + b, 0) / offsets.length;
    assert.ok(mean > 4, `mean offset ${mean.toFixed(1)} mm (right lower > 0)`);
    assert.ok(offsets.filter((o) => o > 0).length >= 8, `right lower in ${offsets.filter((o) => o > 0).length}/12`);
  });

  test("kidney volumes (voxels x voxel volume) are adult-sized and match the sampled ellipsoids", () => {
    for (const ct of cts) {
      const k = kidneyPairFromLabels(ct.labels, [L.kidney_left], [L.kidney_right]);
      for (const side of ["left", "right"] as const) {
        const ml = k[side].ml;
        const [a, b, c] = ct.subject.kidneys[side].shape.semi;
        const ellipsoid = ((4 / 3) * Math.PI * a * b * c) / 1000;
        assert.ok(ml > 100 && ml < 330, `seed ${ct.subject.seed} ${side}: ${ml.toFixed(0)} ml`);
        assert.ok(Math.abs(ml / ellipsoid - 1) < 0.2, `seed ${ct.subject.seed} ${side}: ${ml.toFixed(0)} ml vs ellipsoid ${ellipsoid.toFixed(0)} ml`);
      }
    }
  });

  test("a renal tumour when asked for: labelled next to the kidney on its side; none when not", () => {
    for (const seed of [1, 2, 3]) {
      const ct = generateAbdomenCt(seed, { ...SMALL, tumorProbability: 1 });
      const side = ct.subject.tumor!.side;
      const tumour = centroid(ct.labels, L.tumor);
      const kidney = centroid(ct.labels, side === "left" ? L.kidney_left : L.kidney_right);
      const gap = Math.hypot(...tumour.map((x, i) => x - kidney[i]));
      assert.ok(gap < 90, `seed ${seed}: tumour ${gap.toFixed(0)} mm from the ${side} kidney's centroid`);
    }
    for (const ct of cts) assert.ok(!ct.labels.data.includes(L.tumor), "no tumour label with tumorProbability 0");
  });
});

describe("abdominal CT phantom: HU checked by numpy on the written files", { skip: nibabelSkip() }, () => {
  test("each organ's eroded-label mean is its configured HU; the noise sd and neighbour correlation are the designed ones", async () => {
    const sliceMm = 5;
    const ct = generateAbdomenCt(3, { matrix: 96, pixelMm: 4, slices: 36, sliceMm, tumorProbability: 0 });
    const image = path.join(tmp, "ct.nii.gz");
    const labels = path.join(tmp, "labels.nii.gz");
    await writeNifti(image, ct.image);
    await writeNifti(labels, ct.labels);
    const measured = runPythonJson<Record<string, { n: number; mean: number; sd: number; lag1: number }>>(
      "import json, sys, numpy as np, nibabel as nib\n" +
        "from scipy import ndimage\n" +
        "img = np.asarray(nib.load(sys.argv[1]).dataobj).astype(float)\n" +
        "lab = np.asarray(nib.load(sys.argv[2]).dataobj)\n" +
        "out = {}\n" +
        "for v in np.unique(lab):\n" +
        "    m = ndimage.binary_erosion(lab == v)\n" +
        "    pair = m[:-1] & m[1:]\n" +
        "    lag1 = float(np.corrcoef(img[:-1][pair], img[1:][pair])[0, 1]) if pair.sum() > 2 else 0.0\n" +
        "    if m.sum() > 0: out[str(int(v))] = {'n': int(m.sum()), 'mean': float(img[m].mean()), 'sd': float(img[m].std()), 'lag1': lag1}\n" +
        "print(json.dumps(out))",
      [image, labels],
    );
    // Labels made of one material (a single tissue), so their configured HU is one number.
    const single: [number, Material][] = [
      [L.liver, "liver"], [L.spleen, "spleen"], [L.aorta, "arterial_blood"], [L.ivc, "venous_blood"],
      [L.subcutaneous_fat, "fat"], [L.muscle, "muscle"], [L.spinal_cord, "csf"],
    ];
    for (const [label, material] of single) {
      assert.equal(TISSUES.filter(([, l]) => l === label).length, 1, `label ${label} has one tissue`);
      const m = measured[label];
      assert.ok(m && m.n >= 30, `label ${label}: ${m?.n ?? 0} eroded voxels`);
      const want = ct.subject.look.hu[material];
      assert.ok(Math.abs(m.mean - want) < 5, `label ${label} (${material}): numpy mean ${m.mean.toFixed(1)} vs configured ${want.toFixed(1)}`);
    }
    const noise = ct.subject.look.noiseSd * Math.sqrt(3 / sliceMm);
    const liver = measured[L.liver];
    assert.ok(Math.abs(liver.sd / noise - 1) < 0.2, `liver sd ${liver.sd.toFixed(1)} vs noise ${noise.toFixed(1)}`);
    // Neighbour correlation along x, designed as 2a / (1 + 2a^2) = 0.196 (noise.ts).
    assert.ok(Math.abs(liver.lag1 - 0.196) < 0.08, `liver lag-1 correlation ${liver.lag1.toFixed(3)}`);
  });
});
