// KiTS19 loader: anatomy and geometry on the real label maps (case_00002, the smallest sample,
// loaded once), cross-checked against nibabel + scipy; the writer's round trip; errors; the
// manifest on a folder in the official layout.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { main } from "../src/cli.js";
import type { CtCase } from "../src/datasets/ct.js";
import { KITS19_LABEL_NAMES, Kits19Dataset, kits19File, writeKits19Case } from "../src/datasets/kits19.js";
import { findManifest, verifyDataset } from "../src/datasets/manifest.js";
import { writeNifti } from "../src/io/nifti.js";
import { affineDeterminant, voxelToWorld, type Affine, type Volume } from "../src/io/volume.js";
import { connectedComponents } from "../src/transforms/largest-component.js";
import { scipySkip } from "./helpers/scipy.js";
import { fileError } from "./helpers/file-error.js";
import { nibabelSkip, runPythonJson, sharedDataPath, sharedDataSkip } from "./helpers/shared-data.js";

const SAMPLES = sharedDataPath("kits19-labels");
const noSample = sharedDataSkip(["kits19-labels", "case_00002_segmentation.nii.gz"]);

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-kits19-"));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

let case2: Promise<CtCase> | undefined;
/** case_00002 (261 x 512 x 512 stored), loaded once for every test that reads it. */
const loadCase2 = () => (case2 ??= new Kits19Dataset(SAMPLES).loadCase("case_00002", { image: false }));

interface Kidney {
  voxels: number;
  kidney: number;
  tumor: number;
  /** World (RAS mm) centroid. */
  centroid: number[];
  zMin: number;
  zMax: number;
  /** Centroid x and y of the lowest and highest fifth of the kidney's slices. */
  low: { x: number; y: number };
  high: { x: number; y: number };
}

/** The two largest connected components of labels > 0 (face connectivity, like scipy's default). */
function twoKidneys(labels: Volume<Uint8Array>): { kidneys: Kidney[]; inTwo: number; total: number } {
  const [nx, ny, nz] = labels.shape;
  const mask = labels.data.map((v) => (v > 0 ? 1 : 0));
  const { ids, sizes } = connectedComponents(mask, [nx, ny, nz], 1);
  const top = sizes.map((s, id) => [s, id]).slice(1).sort((a, b) => b[0] - a[0]).slice(0, 2).map(([, id]) => id);
  // One pass: per component and slice k, the voxel count and the sums of i and j.
  const per = top.map(() => ({ n: new Float64Array(nz), si: new Float64Array(nz), sj: new Float64Array(nz), kidney: 0, tumor: 0 }));
  let v = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, v++) {
        const c = ids[v] === top[0] ? per[0] : ids[v] === top[1] ? per[1] : undefined;
        if (!c) continue;
        [c.n[k], c.si[k], c.sj[k]] = [c.n[k] + 1, c.si[k] + i, c.sj[k] + j];
        if (labels.data[v] === 1) c.kidney++;
        else c.tumor++;
      }
  const kidneys = per.map((c) => {
    const ks = [...c.n.keys()].filter((k) => c.n[k] > 0);
    const [kMin, kMax] = [ks[0], ks[ks.length - 1]];
    /** World centroid of slices k0..k1. */
    const centroid = (k0: number, k1: number) => {
      let [n, si, sj, sk] = [0, 0, 0, 0];
      for (let k = k0; k <= k1; k++) [n, si, sj, sk] = [n + c.n[k], si + c.si[k], sj + c.sj[k], sk + k * c.n[k]];
      return voxelToWorld(labels.affine, [si / n, sj / n, sk / n]);
    };
    const fifth = Math.max(1, Math.round((kMax - kMin + 1) / 5));
    const [a, b] = [centroid(kMin, kMin + fifth - 1), centroid(kMax - fifth + 1, kMax)];
    const [low, high] = a[2] < b[2] ? [a, b] : [b, a];
    const [zA, zB] = [voxelToWorld(labels.affine, [0, 0, kMin])[2], voxelToWorld(labels.affine, [0, 0, kMax])[2]];
    return {
      voxels: c.kidney + c.tumor,
      kidney: c.kidney,
      tumor: c.tumor,
      centroid: centroid(kMin, kMax),
      zMin: Math.min(zA, zB),
      zMax: Math.max(zA, zB),
      low: { x: low[0], y: low[1] },
      high: { x: high[0], y: high[1] },
    };
  });
  const total = mask.reduce((s, x) => s + x, 0);
  return { kidneys, inTwo: kidneys[0].voxels + kidneys[1].voxels, total };
}

let kidneys2: Promise<ReturnType<typeof twoKidneys>> | undefined;
const kidneysOfCase2 = () => (kidneys2 ??= loadCase2().then((c) => twoKidneys(c.labels!)));

test("the shared samples list as three cases, labels only, in the library layout", { skip: noSample }, async () => {
  const ds = new Kits19Dataset(SAMPLES);
  assert.deepEqual(await ds.listCases(), ["case_00000", "case_00001", "case_00002"]);
  const c = await loadCase2();
  assert.deepEqual(c.labelNames, { 1: "kidney", 2: "tumor" });
  assert.equal(c.image, undefined);
  assert.deepEqual(c.labels!.shape, [512, 512, 261], "columns, rows, slices: first index fastest");
  assert.deepEqual(c.info.storedShape, [261, 512, 512]);
  assert.equal(c.info.layout, "flat");
  assert.deepEqual(c.warnings, [], "image: false asks for no image, so its absence is not a warning");
  const withDefault = await ds.loadCase("case_00002", { labels: false });
  assert.match(withDefault.warnings.join("\n"), /case_00002_imaging\.nii\.gz is missing/);
});

test("case_00002 anatomy in RAS mm: kidneys left and right of the midline, posterior, side by side, lower poles lateral and anterior", { skip: noSample }, async () => {
  const { labels } = await loadCase2();
  const { kidneys, inTwo, total } = await kidneysOfCase2();
  assert.ok(inTwo >= 0.999 * total, `the two largest components hold ${inTwo} of ${total} labelled voxels`);
  const [a, b] = kidneys;
  const midline = (a.centroid[0] + b.centroid[0]) / 2;
  const [left, right] = a.centroid[0] < midline ? [a, b] : [b, a];
  assert.ok(left.centroid[0] < midline && right.centroid[0] > midline);
  const apart = right.centroid[0] - left.centroid[0];
  assert.ok(apart >= 80 && apart <= 200, `kidney centroids ${apart.toFixed(1)} mm apart in x`);
  // Split along x, not along y or z: the left-right axis is the one the kidneys straddle.
  assert.ok(apart > 2 * Math.abs(a.centroid[1] - b.centroid[1]), "separated mainly left-right, not front-back");
  assert.ok(apart > Math.abs(a.centroid[2] - b.centroid[2]), "separated mainly left-right, not head-feet");
  // Posterior: both centroids behind the middle of the field of view's y extent.
  const [yA, yB] = [voxelToWorld(labels!.affine, [0, 0, 0])[1], voxelToWorld(labels!.affine, [0, labels!.shape[1] - 1, 0])[1]];
  for (const k of kidneys) assert.ok(k.centroid[1] < (yA + yB) / 2, `kidney at y ${k.centroid[1].toFixed(1)} is behind the middle ${((yA + yB) / 2).toFixed(1)}`);
  // Side by side: their head-feet extents overlap by more than half the shorter one.
  const overlap = Math.min(a.zMax, b.zMax) - Math.max(a.zMin, b.zMin);
  assert.ok(overlap > 0.5 * Math.min(a.zMax - a.zMin, b.zMax - b.zMin), `z extents overlap by ${overlap.toFixed(1)} mm`);
  // The long axes tilt: the lower pole (smaller z) lies further from the midline and further
  // forward (larger y) than the upper pole. Both fail if the slice axis's sign were wrong.
  for (const k of kidneys) {
    const [lowOut, highOut] = [Math.abs(k.low.x - midline), Math.abs(k.high.x - midline)];
    assert.ok(lowOut > highOut, `lower pole lateral: ${lowOut.toFixed(1)} vs upper ${highOut.toFixed(1)} mm from the midline`);
    assert.ok(k.low.y > k.high.y, `lower pole anterior: y ${k.low.y.toFixed(1)} vs ${k.high.y.toFixed(1)}`);
  }
});

const NIBABEL_KIDNEYS = `
import json, sys, numpy as np, nibabel as nib
from scipy import ndimage
img = nib.load(sys.argv[1])
seg = np.asarray(img.dataobj)
lab, n = ndimage.label(seg > 0)
sizes = np.bincount(lab.ravel())
voxel_ml = float(np.prod(img.header.get_zooms()[:3])) / 1000
out = []
for c in np.argsort(sizes[1:])[::-1][:2] + 1:
    inside = lab == c
    ijk = np.argwhere(inside).mean(axis=0)
    out.append({"kidneyMl": int((seg[inside] == 1).sum()) * voxel_ml, "tumorMl": int((seg[inside] == 2).sum()) * voxel_ml,
                "x": float((img.affine @ np.append(ijk, 1))[0])})
print(json.dumps(out))
`;

test("case_00002 kidney and tumour volumes (ml) equal nibabel + scipy's count x voxel volume, and are plausible", { skip: noSample || nibabelSkip() || scipySkip("scipy.ndimage") }, async () => {
  const { labels } = await loadCase2();
  const { kidneys } = await kidneysOfCase2();
  const ref = runPythonJson<{ kidneyMl: number; tumorMl: number; x: number }[]>(NIBABEL_KIDNEYS, [sharedDataPath("kits19-labels", "case_00002_segmentation.nii.gz")]);
  const voxelMl = Math.abs(affineDeterminant(labels!.affine)) / 1000;
  const ours = kidneys.map((k) => ({ kidneyMl: k.kidney * voxelMl, tumorMl: k.tumor * voxelMl, x: k.centroid[0] })).sort((p, q) => p.x - q.x);
  ref.sort((p, q) => p.x - q.x);
  for (let n = 0; n < 2; n++) {
    assert.ok(Math.abs(ours[n].kidneyMl - ref[n].kidneyMl) <= 1e-9 * ref[n].kidneyMl, `kidney ${n}: ${ours[n].kidneyMl} vs ${ref[n].kidneyMl} ml`);
    assert.ok(Math.abs(ours[n].tumorMl - ref[n].tumorMl) <= 1e-9 * Math.max(1, ref[n].tumorMl), `tumour ${n}`);
    assert.ok(Math.abs(ours[n].x - ref[n].x) < 1e-6, `centroid x ${ours[n].x} vs nibabel ${ref[n].x}: the same world point`);
    assert.ok(ours[n].kidneyMl >= 100 && ours[n].kidneyMl <= 300, `kidney ${n}: ${ours[n].kidneyMl.toFixed(1)} ml`);
  }
  assert.ok(ours.some((k) => k.tumorMl > 10) && ours.some((k) => k.tumorMl === 0), "one kidney carries the tumour");
});

const NIBABEL_VOXELS = `
import json, sys, numpy as np, nibabel as nib
img = nib.load(sys.argv[1])
seg = np.asarray(img.dataobj)
rng = np.random.default_rng(5)
zyx = [list(map(int, np.argwhere(seg == 2)[0])), [0, 0, 0], [s - 1 for s in seg.shape]]
zyx += [[int(rng.integers(0, s)) for s in seg.shape] for _ in range(5)]
print(json.dumps({"zooms": [float(z) for z in img.header.get_zooms()], "sformCode": int(img.header["sform_code"]),
  "voxels": [{"zyx": p, "world": (img.affine @ (p + [1]))[:3].tolist(), "value": int(seg[tuple(p)])} for p in zyx]}))
`;

test("case_00002 affine: voxel (x, y, z) = stored (z, y, x), at (-p x, -p y, -t z) mm, the same point nibabel gives", { skip: noSample || nibabelSkip() }, async () => {
  const { labels } = await loadCase2();
  const ref = runPythonJson<{ zooms: number[]; sformCode: number; voxels: { zyx: number[]; world: number[]; value: number }[] }>(NIBABEL_VOXELS, [
    sharedDataPath("kits19-labels", "case_00002_segmentation.nii.gz"),
  ]);
  // Hand-derived from the stored zooms (t, p, p) and the quirk (kits19.ts): no translation.
  const [t, p] = [ref.zooms[0], ref.zooms[1]];
  assert.deepEqual([t, p], [1, 0.939453125]);
  assert.equal(ref.sformCode, 2);
  const expected: Affine = [[-p, 0, 0, 0], [0, -p, 0, 0], [0, 0, -t, 0], [0, 0, 0, 1]];
  assert.deepEqual(labels!.affine, expected);
  assert.deepEqual(labels!.spacing, [p, p, t]);
  const [nx, ny] = labels!.shape;
  for (const v of ref.voxels) {
    const [z, y, x] = v.zyx;
    const ours = voxelToWorld(labels!.affine, [x, y, z]);
    ours.forEach((c, r) => assert.ok(Math.abs(c - v.world[r]) < 1e-9, `voxel ${v.zyx}: ${ours} vs nibabel ${v.world}`));
    assert.equal(labels!.data[x + nx * (y + ny * z)], v.value, `label at stored ${v.zyx}`);
  }
  assert.equal(ref.voxels[0].value, 2, "the first tumour voxel is found at its stored index");
});

// A tiny volume with distinct sizes and spacings on every axis, and a translation, so a swapped
// axis, a dropped sign or a lost origin all show.
const [NX, NY, NZ] = [4, 3, 5];
const AFFINE: Affine = [[-0.8, 0, 0, 12], [0, -0.7, 0, -30], [0, 0, 2.5, 40], [0, 0, 0, 1]];
/** AFFINE as a file in KiTS19's layout (slices first) stores it. */
const STORED_AFFINE: Affine = AFFINE.map((r) => [r[2], r[1], r[0], r[3]]);
const tiny = <T extends Volume["data"]>(data: T, shape = [NX, NY, NZ], affine = AFFINE): Volume<T> => ({
  data,
  shape,
  spacing: [0, 1, 2].map((c) => Math.hypot(affine[0][c], affine[1][c], affine[2][c])),
  affine,
});
const tinyImage = () => tiny(Int16Array.from({ length: NX * NY * NZ }, (_, n) => 3 * n - 100));
const tinyLabels = () => tiny(Uint8Array.from({ length: NX * NY * NZ }, (_, n) => (n * 7) % 3));

const NIBABEL_WRITTEN = `
import json, sys, numpy as np, nibabel as nib
out = []
for f in sys.argv[1:]:
    img = nib.load(f)
    a = np.asarray(img.dataobj)
    corners = [[k, j, i] for k in (0, a.shape[0] - 1) for j in (0, a.shape[1] - 1) for i in (0, a.shape[2] - 1)]
    out.append({"shape": list(a.shape), "dtype": str(a.dtype), "sform": int(img.header["sform_code"]), "qform": int(img.header["qform_code"]),
                "values": a.ravel(order="C").tolist(), "corners": [{"kji": c, "world": (img.affine @ (c + [1]))[:3].tolist()} for c in corners]})
print(json.dumps(out))
`;

test("writeKits19Case -> loader round trip keeps data and RAS geometry; nibabel sees KiTS19's (z, y, x) files", { skip: nibabelSkip() }, async () => {
  const root = path.join(tmp, "roundtrip");
  const [image, labels] = [tinyImage(), tinyLabels()];
  const files = await writeKits19Case(root, "case_00007", { image, labels });
  assert.deepEqual(files, { imaging: path.join(root, "case_00007", "imaging.nii.gz"), segmentation: path.join(root, "case_00007", "segmentation.nii.gz") });
  await writeKits19Case(root, "case_00008", { labels }, { layout: "flat" });

  const ds = new Kits19Dataset(root);
  assert.deepEqual(await ds.listCases(), ["case_00007", "case_00008"]);
  const c = await ds.loadCase("case_00007");
  assert.deepEqual(c.warnings, []);
  for (const [got, want] of [[c.image!, image], [c.labels!, labels]] as const) {
    assert.deepEqual(got.shape, [NX, NY, NZ]);
    assert.equal(got.data.constructor, want.data.constructor);
    assert.deepEqual([...got.data], [...want.data]);
    got.affine.flat().forEach((x, n) => assert.ok(Math.abs(x - AFFINE.flat()[n]) < 1e-6, `affine ${got.affine} vs ${AFFINE}`));
  }
  const flat = await ds.loadCase("case_00008");
  assert.equal(flat.info.layout, "flat");
  assert.deepEqual([...flat.labels!.data], [...labels.data]);
  assert.match(flat.warnings.join("\n"), /case_00008_imaging\.nii\.gz is missing/);

  const seen = runPythonJson<{ shape: number[]; dtype: string; sform: number; qform: number; values: number[]; corners: { kji: number[]; world: number[] }[] }[]>(NIBABEL_WRITTEN, [files.imaging!, files.segmentation!]);
  for (const [s, want, dtype] of [[seen[0], image, "int16"], [seen[1], labels, "uint8"]] as const) {
    assert.deepEqual(s.shape, [NZ, NY, NX], "slices first, as KiTS19 stores them");
    assert.equal(s.dtype, dtype);
    assert.deepEqual([s.sform, s.qform], [2, 0], "KiTS19's header codes");
    // Stored C-order (k, j, i) flattening has i fastest: exactly the library's order.
    assert.deepEqual(s.values, [...want.data]);
    for (const { kji, world } of s.corners) {
      const ours = voxelToWorld(AFFINE, [kji[2], kji[1], kji[0]]);
      ours.forEach((x, r) => assert.ok(Math.abs(x - world[r]) < 1e-4, `stored ${kji}: nibabel ${world} vs ${ours}`));
    }
  }
});

test("errors name the file: missing case, missing required image, grids that differ, a label outside 0..2, a non-axial volume, a case stored twice", async () => {
  const root = path.join(tmp, "errors");
  await writeKits19Case(root, "case_00001", { image: tinyImage() });
  const ds = new Kits19Dataset(root);
  await assert.rejects(ds.loadCase("case_00099"), fileError(path.join(root, "case_00099"), /no KiTS19 case 'case_00099'/));
  await assert.rejects(ds.loadCase("case_00001", { labels: true }), fileError(kits19File(root, "case_00001", "segmentation"), /missing \(asked for the labels of case_00001\)/));

  // Segmentation on another grid (one more slice): written as labels alone, then read together.
  await writeKits19Case(root, "case_00001", { labels: tiny(new Uint8Array(NX * NY * (NZ + 1)), [NX, NY, NZ + 1]) });
  const seg1 = kits19File(root, "case_00001", "segmentation");
  await assert.rejects(new Kits19Dataset(root).loadCase("case_00001"), fileError(seg1, /label map shape \[6,3,4\] does not match image .*imaging\.nii\.gz shape \[5,3,4\]/));

  // A label 3 (another dataset's organ) in a file written in KiTS19's layout by hand.
  const seg2 = kits19File(root, "case_00002", "segmentation");
  mkdirSync(path.dirname(seg2), { recursive: true });
  await writeNifti(seg2, tiny(new Uint8Array(NX * NY * NZ).map((_, n) => (n === 7 ? 3 : 0)), [NZ, NY, NX], STORED_AFFINE));
  await assert.rejects(new Kits19Dataset(root).loadCase("case_00002"), fileError(seg2, /label value 3 at voxel 7 is not one of 0\.\.2/));
  const bad = tinyLabels();
  bad.data[2 + NX * 1] = 3;
  await assert.rejects(writeKits19Case(root, "case_00003", { image: tinyImage(), labels: bad }), fileError(kits19File(root, "case_00003", "segmentation"), /label value 3 at voxel 6 is not one of 0\.\.2/));
  assert.ok(!existsSync(path.join(root, "case_00003")), "a refused case writes nothing, not even its image");

  // Slices must run head-feet: a file whose first axis is x (a diagonal affine), and a library
  // volume whose third axis is x.
  const seg4 = kits19File(root, "case_00004", "segmentation");
  mkdirSync(path.dirname(seg4), { recursive: true });
  await writeNifti(seg4, tiny(new Uint8Array(NX * NY * NZ), [NZ, NY, NX], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]));
  await assert.rejects(new Kits19Dataset(root).loadCase("case_00004"), fileError(seg4, /first axis points R .*stores axial slices/));
  const sideways: Affine = [[0, 0, 2.5, 0], [0, -0.7, 0, 0], [-0.8, 0, 0, 0], [0, 0, 0, 1]];
  await assert.rejects(writeKits19Case(root, "case_00005", { image: tiny(new Int16Array(NX * NY * NZ), undefined, sideways) }), fileError(kits19File(root, "case_00005", "imaging"), /third axis points R/));
  await assert.rejects(writeKits19Case(root, "case_5", { image: tinyImage() }), /case id 'case_5' is not KiTS19's case_NNNNN/);

  // The same case as a folder and as flat files.
  await writeKits19Case(root, "case_00001", { labels: tinyLabels() }, { layout: "flat" });
  await assert.rejects(new Kits19Dataset(root).listCases(), fileError(path.join(root, "case_00001"), /stored twice, as a folder and as flat/));
});

test("data verify kits19 on the official layout: subjects, missing images, known-sample checksums; the CLI exit code", { skip: noSample }, async () => {
  // A clone's layout: data/case_NNNNN/, with the real segmentations linked (not copied) in.
  const root = path.join(tmp, "clone");
  const data = path.join(root, "data");
  for (const id of ["case_00000", "case_00001", "case_00002"]) {
    mkdirSync(path.join(data, id), { recursive: true });
    symlinkSync(sharedDataPath("kits19-labels", `${id}_segmentation.nii.gz`), path.join(data, id, "segmentation.nii.gz"));
  }
  await writeKits19Case(data, "case_00002", { image: tinyImage() });
  await writeKits19Case(data, "case_00210", { image: tinyImage() }); // a test case: no labels
  const manifest = await findManifest("kits19");
  const report = await verifyDataset(manifest, root);
  assert.deepEqual(report.subjects.map((s) => s.id), ["case_00000", "case_00001", "case_00002", "case_00210"]);
  assert.equal(report.subjects[0].dir, "data/case_00000");
  assert.equal(report.complete, 2);
  assert.deepEqual(report.problems.map((p) => `${p.kind} ${p.subject} ${p.file}`), ["missing case_00000 data/case_00000/imaging.nii.gz", "missing case_00001 data/case_00001/imaging.nii.gz"]);
  assert.deepEqual(report.checksums, { checked: 3, matched: 3, skipped: 0 });
  assert.ok(report.notes.some((n) => /case_00210: optional .*segmentation\.nii\.gz/.test(n)), report.notes.join("\n"));
  assert.ok(report.notes.includes("4 of 300 subjects present (a partial copy)"));
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    assert.equal(await main(["data", "verify", "kits19", root]), 1);
    for (const id of ["case_00000", "case_00001"]) await writeKits19Case(data, id, { image: tinyImage() });
    assert.equal(await main(["data", "verify", "kits19", data]), 0, "the data/ folder itself verifies too");
  } finally {
    console.log = log;
  }
  assert.match(lines.join("\n"), /kits19 at .*: 4 subjects found \(the full dataset has 300\)/);
  // The loader reads the same clone from its root (through data/).
  assert.deepEqual(await new Kits19Dataset(root).listCases(), ["case_00000", "case_00001", "case_00002", "case_00210"]);
  assert.deepEqual(KITS19_LABEL_NAMES, { 1: "kidney", 2: "tumor" });
});
