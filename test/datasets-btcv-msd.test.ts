// BTCV and MSD CT loaders, and the TotalSegmentator reader, on real data: TotalSegmentator's
// sample CT and label map (shared/data/totalsegmentator) relabelled by nibabel into a BTCV
// folder (reoriented to LPS, labels int16) and an MSD Task03_Liver folder (as stored, uint8), so
// the files come from an independent NIfTI writer and every number checked (voxel counts, ml,
// affines, centroids, HU) is nibabel's. Then the errors: each names the file or setting.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { BTCV_LABEL_NAMES, BtcvDataset } from "../src/datasets/btcv.js";
import { CT_ORGANS, isCtOrgan, type CtCase, type CtOrgan } from "../src/datasets/ct.js";
import { findManifest, verifyDataset } from "../src/datasets/manifest.js";
import { MSD_CT_TASKS, MsdDataset } from "../src/datasets/msd.js";
import { mapTotalSegmentatorLabels, readTotalSegmentatorCase } from "../src/datasets/totalsegmentator.js";
import { writeNifti } from "../src/io/nifti.js";
import { voxelToWorld, type Affine, type Volume } from "../src/io/volume.js";
import { fileError } from "./helpers/file-error.js";
import { nibabelSkip, runPythonJson, sharedDataPath, sharedDataSkip } from "./helpers/shared-data.js";

const CT = sharedDataPath("totalsegmentator", "example_ct_sm.nii.gz");
const SEG = sharedDataPath("totalsegmentator", "example_seg.nii.gz");
const noSample = sharedDataSkip(["totalsegmentator", "example_ct_sm.nii.gz"], ["totalsegmentator", "example_seg.nii.gz"]);

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-btcv-msd-"));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** nibabel's view of one written label map (and its image). */
interface Written {
  file: string;
  shape: number[];
  dtype: string;
  axcodes: string;
  affine: Affine;
  /** By TotalSegmentator name: the stored value, voxel count, ml and world centroid (RAS mm). */
  organs: Record<string, { value: number; voxels: number; ml: number; centroid: number[] | null }>;
  /** A few voxels: (i, j, k), label value, CT value. */
  samples: { ijk: number[]; label: number; hu: number }[];
  huSum: number;
}
interface Fixtures {
  btcvRoot: string;
  msdTask: string;
  /** nibabel's reading of the sample itself: names from the XML extension, counts by name. */
  sample: Written & { names: Record<string, string> };
  btcv: Written;
  msd: Written;
}

// Writes the BTCV and MSD folders and measures every file it wrote (and the sample) with
// nibabel. BTCV's order and MSD Task03's labels are spelled out here, independently of the
// loaders' tables. The MSD "cancer" is a stand-in: the sample has no tumour, so the
// gallbladder (next to the liver) is written as label 2.
const BUILD = `
import json, os, sys
import xml.etree.ElementTree as ET
import numpy as np, nibabel as nib
ct_path, seg_path, out = sys.argv[1:4]
ct, seg = nib.load(ct_path), nib.load(seg_path)
xml = b"".join(e.get_content() for e in seg.header.extensions).rstrip(b"\\0 \\n")
ts = {int(l.get("Key")): l.text.strip() for l in ET.fromstring(xml).iter("Label")}
by_name = {n: v for v, n in ts.items()}
hu, lab = np.asarray(ct.dataobj), np.asarray(seg.dataobj)

BTCV = ["spleen", "kidney_right", "kidney_left", "gallbladder", "esophagus", "liver", "stomach", "aorta",
        "inferior_vena_cava", "portal_vein_and_splenic_vein", "pancreas", "adrenal_gland_right", "adrenal_gland_left"]
MSD = {"liver": 1, "gallbladder": 2}

def relabel(names_to_values, dtype):
    out = np.zeros(lab.shape, dtype)
    for n, v in names_to_values.items():
        out[lab == by_name[n]] = v
    return out

def save(data, affine, path, dtype):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img = nib.Nifti1Image(np.asarray(data, dtype), affine)
    img.set_data_dtype(dtype)
    nib.save(img, path)
    return img

LPS = np.array([[0, -1], [1, -1], [2, 1]])
def save_lps(data, path, dtype):
    img = nib.Nifti1Image(np.asarray(data, dtype), ct.affine).as_reoriented(LPS)
    return save(np.asarray(img.dataobj), img.affine, path, dtype)

def measure(label_path, image_path, names):
    li, ii = nib.load(label_path), nib.load(image_path)
    a, h, A = np.asarray(li.dataobj), np.asarray(ii.dataobj), li.affine
    assert np.allclose(A, ii.affine)
    ml = abs(np.linalg.det(A[:3, :3])) / 1000
    organs = {}
    for n, v in names.items():
        ijk = np.argwhere(a == v)
        organs[n] = {"value": int(v), "voxels": len(ijk), "ml": len(ijk) * ml,
                     "centroid": (A @ np.append(ijk.mean(axis=0), 1))[:3].tolist() if len(ijk) else None}
    rng = np.random.default_rng(3)
    picks = [np.argwhere(a > 0)[0]] + [[int(rng.integers(0, s)) for s in a.shape] for _ in range(6)]
    return {"file": label_path, "shape": list(a.shape), "dtype": str(a.dtype), "axcodes": "".join(nib.aff2axcodes(A)),
            "affine": A.tolist(), "organs": organs, "huSum": int(h.astype(np.int64).sum()),
            "samples": [{"ijk": [int(x) for x in p], "label": int(a[tuple(p)]), "hu": int(h[tuple(p)])} for p in picks]}

btcv = os.path.join(out, "btcv", "RawData")
save_lps(hu, f"{btcv}/Training/img/img0001.nii.gz", np.int16)
save_lps(relabel({n: v + 1 for v, n in enumerate(BTCV)}, np.int16), f"{btcv}/Training/label/label0001.nii.gz", np.int16)
save_lps(hu, f"{btcv}/Testing/img/img0061.nii.gz", np.int16)

task = os.path.join(out, "msd", "Task03_Liver")
save(hu, ct.affine, f"{task}/imagesTr/liver_0.nii.gz", np.int16)
save(relabel(MSD, np.uint8), ct.affine, f"{task}/labelsTr/liver_0.nii.gz", np.uint8)
save(hu, ct.affine, f"{task}/imagesTs/liver_132.nii.gz", np.int16)
with open(f"{task}/imagesTr/._liver_0.nii.gz", "wb") as f:  # what the official tars carry
    f.write(b"\\0\\x05\\x16\\x07\\0\\x02\\0\\0Mac OS X        " + bytes(4000))
with open(f"{task}/dataset.json", "w") as f:
    json.dump({"name": "Liver", "description": "Liver and liver tumour segmentation (test copy)", "licence": "CC-BY-SA 4.0",
               "tensorImageSize": "3D", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "liver", "2": "cancer"},
               "numTraining": 1, "numTest": 1,
               "training": [{"image": "./imagesTr/liver_0.nii.gz", "label": "./labelsTr/liver_0.nii.gz"}],
               "test": ["./imagesTs/liver_132.nii.gz"]}, f, indent=1)

sample = measure(seg_path, ct_path, {n: v for v, n in ts.items()})
sample["names"] = {str(v): n for v, n in ts.items()}
print(json.dumps({"btcvRoot": os.path.join(out, "btcv"), "msdTask": task, "sample": sample,
                  "btcv": measure(f"{btcv}/Training/label/label0001.nii.gz", f"{btcv}/Training/img/img0001.nii.gz", {n: v + 1 for v, n in enumerate(BTCV)}),
                  "msd": measure(f"{task}/labelsTr/liver_0.nii.gz", f"{task}/imagesTr/liver_0.nii.gz", {"liver": 1, "gallbladder": 2})}))
`;

let built: Fixtures | undefined;
/** The folders and nibabel's numbers, built once; without nibabel this fails (no skip). */
function fixtures(): Fixtures {
  if (built) return built;
  const missing = nibabelSkip();
  if (missing) throw new Error(`this test writes its BTCV and MSD folders with nibabel, and cannot: ${missing}`);
  built = runPythonJson<Fixtures>(BUILD, [CT, SEG, path.join(tmp, "real")]);
  return built;
}

/** Voxel count and world centroid (RAS mm) of label `value`, computed on our side. */
function organStats(labels: Volume<Uint8Array>, value: number): { voxels: number; centroid: number[] } {
  const [nx, ny] = labels.shape;
  let [n, si, sj, sk] = [0, 0, 0, 0];
  labels.data.forEach((v, o) => {
    if (v !== value) return;
    n++;
    si += o % nx;
    sj += Math.floor(o / nx) % ny;
    sk += Math.floor(o / (nx * ny));
  });
  return { voxels: n, centroid: n ? voxelToWorld(labels.affine, [si / n, sj / n, sk / n]) : [] };
}

const voxelMl = (v: Volume) => Math.abs(v.spacing[0] * v.spacing[1] * v.spacing[2]) / 1000;
const close = (a: number[], b: number[], tol: number, what: string) => a.forEach((x, n) => assert.ok(Math.abs(x - b[n]) <= tol, `${what}: ${a} vs nibabel ${b}`));

/** Every check a loaded case owes nibabel's numbers; `organs` maps our names to nibabel's keys. */
function matchesNibabel(c: CtCase, ref: Written, organs: Partial<Record<CtOrgan, string>>): void {
  const labels = c.labels!;
  assert.deepEqual(labels.shape, ref.shape);
  close(labels.affine.flat(), ref.affine.flat(), 1e-9, "affine");
  assert.deepEqual(c.image!.affine, labels.affine);
  assert.equal(c.info.orientation, ref.axcodes);
  const [nx, ny] = labels.shape;
  for (const s of ref.samples) {
    const o = s.ijk[0] + nx * (s.ijk[1] + ny * s.ijk[2]);
    assert.equal(labels.data[o], s.label, `label at ${s.ijk}`);
    assert.equal(c.image!.data[o], s.hu, `HU at ${s.ijk}`);
  }
  let huSum = 0;
  for (const x of c.image!.data) huSum += x;
  assert.equal(huSum, ref.huSum, "sum of HU");
  for (const [name, key] of Object.entries(organs) as [CtOrgan, string][]) {
    const want = ref.organs[key];
    const value = Number(Object.keys(c.labelNames).find((v) => c.labelNames[Number(v)] === name));
    assert.equal(value, want.value, `${name}'s stored value`);
    const ours = organStats(labels, value);
    assert.equal(ours.voxels, want.voxels, `${name} voxels`);
    assert.ok(Math.abs(ours.voxels * voxelMl(labels) - want.ml) <= 1e-9 * Math.max(1, want.ml), `${name}: ${ours.voxels * voxelMl(labels)} vs ${want.ml} ml`);
    if (want.centroid) close(ours.centroid, want.centroid, 1e-6, `${name} centroid`);
  }
  for (const name of Object.values(c.labelNames)) assert.ok(isCtOrgan(name), `${name} is in CT_ORGANS`);
}

/** World centroid of a named organ in a loaded case. */
function centroidOf(c: CtCase, name: CtOrgan): number[] {
  const value = Number(Object.keys(c.labelNames).find((v) => c.labelNames[Number(v)] === name));
  return organStats(c.labels!, value).centroid;
}

/**
 * Sides in the library's RAS+ world: +x is the patient's RIGHT (io/volume.ts), so left-sided
 * organs have the smaller x. Spleen and left kidney lie left of the liver and right kidney.
 */
function assertSides(c: CtCase, pairs: [CtOrgan, CtOrgan][]): void {
  for (const [left, right] of pairs) {
    const [l, r] = [centroidOf(c, left)[0], centroidOf(c, right)[0]];
    assert.ok(l < r - 50, `${c.dataset} ${c.id}: ${left} at x ${l.toFixed(1)} should be left of (below) ${right} at x ${r.toFixed(1)} in RAS+ mm`);
  }
}

test("TotalSegmentator sample: names from the header map to the vocabulary; counts, ml and sides equal nibabel's", { skip: noSample }, async () => {
  const ref = fixtures().sample;
  const c = await readTotalSegmentatorCase({ labels: SEG, image: CT });
  assert.equal(c.labels!.data.length, 122 * 101 * 30);
  assert.deepEqual(c.labelTable, Object.fromEntries(Object.entries(ref.names).filter(([v]) => v !== "0")), "our XML reading equals ElementTree's");
  // Every vocabulary name TotalSegmentator has is mapped by identity; the rest stay unnamed.
  const mapped = Object.values(c.labelNames);
  for (const name of CT_ORGANS) if (Object.values(ref.names).includes(name)) assert.ok(mapped.includes(name), `${name} mapped`);
  assert.equal(mapped.length + (c.info.unnamedLabels as number[]).length, Object.keys(ref.names).filter((v) => v !== "0").length);
  assert.ok((c.info.unnamedLabels as number[]).includes(Number(Object.keys(ref.names).find((v) => ref.names[v] === "vertebrae_L1"))));
  const organs = Object.fromEntries(mapped.map((n) => [n, n]));
  matchesNibabel(c, ref, organs);
  assert.equal(c.info.orientation, "RAS");
  assertSides(c, [["kidney_left", "kidney_right"], ["spleen", "liver"], ["adrenal_gland_left", "adrenal_gland_right"]]);
  assert.equal(ref.organs.esophagus.voxels, 0, "the sample's table names the esophagus but its 30 slices hold none");
  // One tumour per map: a table with two would need organ-specific names, so it is refused.
  assert.throws(() => mapTotalSegmentatorLabels({ 1: "liver_tumor", 2: "tumor" }, "x.nii.gz"), fileError("x.nii.gz", /same organ name "tumor"/));
  assert.deepEqual(mapTotalSegmentatorLabels({ 1: "liver", 2: "liver_tumor" }, "x").tumorOf, "liver");
});

test("BTCV from the sample (reoriented to LPS by nibabel): layouts, 13 labels in BTCV order, counts, ml, affine, HU and sides", { skip: noSample }, async () => {
  const { btcvRoot, btcv: ref, sample } = fixtures();
  assert.equal(ref.axcodes, "LPS");
  assert.equal(ref.dtype, "int16");
  const ds = new BtcvDataset(btcvRoot);
  assert.deepEqual(await ds.listCases(), ["0001", "0061"]);
  const c = await ds.loadCase("0001");
  assert.deepEqual(c.warnings, []);
  assert.equal(c.info.split, "training");
  assert.deepEqual(c.labelNames, BTCV_LABEL_NAMES);
  assert.equal(Object.keys(c.labelNames).length, 13);
  matchesNibabel(c, ref, Object.fromEntries(Object.values(BTCV_LABEL_NAMES).map((n) => [n, n])));
  assertSides(c, [["kidney_left", "kidney_right"], ["spleen", "liver"], ["adrenal_gland_left", "adrenal_gland_right"]]);
  // Reorienting moved every voxel but no organ: world centroids are the sample's.
  for (const name of ["kidney_left", "kidney_right", "spleen", "liver", "aorta"] as const) close(centroidOf(c, name), sample.organs[name].centroid!, 1e-6, `${name} in the BTCV copy vs the sample`);
  // The test case: image only, and no warning for the labels BTCV never had.
  const test61 = await ds.loadCase("0061");
  assert.equal(test61.info.split, "testing");
  assert.equal(test61.labels, undefined);
  assert.deepEqual(test61.warnings, []);
  assert.deepEqual(test61.image!.data, c.image!.data);
  await assert.rejects(ds.loadCase("0061", { labels: true }), fileError(path.join(btcvRoot, "RawData", "Testing", "img", "img0061.nii.gz"), /0061 has no labels \(a test case\)/));
  // The folder that holds img/ and label/ directly, and RawData itself.
  assert.deepEqual(await new BtcvDataset(path.join(btcvRoot, "RawData", "Training")).listCases(), ["0001"]);
  assert.deepEqual(await new BtcvDataset(path.join(btcvRoot, "RawData")).listCases(), ["0001", "0061"]);
});

test("MSD Task03_Liver from the sample: dataset.json drives it, labels map (cancer -> tumor in the liver), counts, ml, affine; '._' files ignored", { skip: noSample }, async () => {
  const { msdTask, msd: ref } = fixtures();
  const ds = new MsdDataset(msdTask);
  const task = await ds.description();
  assert.equal(task.name, "Liver");
  assert.equal(task.task, "liver");
  assert.deepEqual(task.labelNames, { 1: "liver", 2: "tumor" });
  assert.equal(task.tumorOf, "liver");
  assert.deepEqual(await ds.listCases(), ["liver_0", "liver_132"]);
  assert.deepEqual(await ds.inventory(), { present: ["liver_0", "liver_132"], absent: [], missing: [], unlisted: [], resourceForks: 1 });
  const c = await ds.loadCase("liver_0");
  assert.deepEqual(c.warnings, []);
  assert.equal(c.dataset, "msd-ct");
  assert.deepEqual([c.info.split, c.info.task, c.info.tumorOf], ["training", "Liver", "liver"]);
  assert.equal(ref.dtype, "uint8");
  matchesNibabel(c, ref, { liver: "liver", tumor: "gallbladder" });
  const nothing = await ds.loadCase("liver_0", { image: false, labels: false });
  assert.deepEqual([nothing.image, nothing.labels, nothing.warnings], [undefined, undefined, []]);
  const test132 = await ds.loadCase("liver_132");
  assert.deepEqual([test132.info.split, test132.labels, test132.warnings], ["test", undefined, []]);
  // Every CT task's table speaks the vocabulary, and names a host for its tumour.
  for (const t of Object.values(MSD_CT_TASKS))
    for (const organ of Object.values(t.labels)) {
      assert.ok(isCtOrgan(organ), `${t.folder}: ${organ}`);
      if (organ === "tumor") assert.ok(t.tumorOf && isCtOrgan(t.tumorOf), `${t.folder} names its tumour's organ`);
    }
});

test("data verify btcv and msd-ct on the folders: cases found, test cases' labels noted, '._' ignored", { skip: noSample }, async () => {
  const { btcvRoot, msdTask } = fixtures();
  const b = await verifyDataset(await findManifest("btcv"), btcvRoot);
  assert.deepEqual(b.subjects, [{ id: "0001", dir: "RawData/Training/img" }, { id: "0061", dir: "RawData/Testing/img" }]);
  assert.deepEqual([b.complete, b.problems], [2, []]);
  assert.ok(b.notes.some((n) => /0061: optional RawData\/Testing\/label\/label0061\.nii\.gz .*missing/.test(n)), b.notes.join("\n"));
  assert.ok(!b.notes.some((n) => /0001: optional/.test(n)), "the training case's ../label/ file is found");
  const m = await verifyDataset(await findManifest("msd-ct"), path.dirname(msdTask));
  assert.deepEqual(m.subjects.map((s) => `${s.id} ${s.dir}`), ["liver_0 Task03_Liver/imagesTr", "liver_132 Task03_Liver/imagesTs"]);
  assert.deepEqual([m.complete, m.problems], [2, []]);
  assert.ok(!m.notes.some((n) => /match no layout rule/.test(n)), `the ._ file is ignored: ${m.notes.join("\n")}`);
  const bare = path.join(tmp, "msd-no-json");
  mkdirSync(path.join(bare, "Task09_Spleen", "imagesTr"), { recursive: true });
  writeFileSync(path.join(bare, "Task09_Spleen", "imagesTr", "spleen_2.nii.gz"), "");
  const noJson = await verifyDataset(await findManifest("msd-ct"), bare);
  assert.deepEqual(noJson.problems.map((p) => p.file), ["Task09_Spleen/dataset.json"]);
});

// ---------------------------------------------------------------------------------------------
// Errors, on tiny volumes written by our writer (the error, not the data, is under test).

const [NX, NY, NZ] = [4, 3, 5];
const AFFINE: Affine = [[-0.8, 0, 0, 12], [0, -0.7, 0, -30], [0, 0, 2.5, 40], [0, 0, 0, 1]];
const tiny = <T extends Volume["data"]>(data: T, shape = [NX, NY, NZ], affine = AFFINE): Volume<T> => ({
  data,
  shape,
  spacing: [0, 1, 2].map((c) => Math.hypot(affine[0][c], affine[1][c], affine[2][c])),
  affine,
});
const tinyImage = () => tiny(Int16Array.from({ length: NX * NY * NZ }, (_, n) => n - 30));
const tinyLabels = (max: number, bad?: number) => tiny(Uint8Array.from({ length: NX * NY * NZ }, (_, n) => (n === 7 && bad !== undefined ? bad : n % (max + 1))));

test("BTCV errors name the file: a label outside 0..13, a label map on another grid (shape, affine), an unknown case", async () => {
  const root = path.join(tmp, "btcv-errors");
  const img = (id: string) => path.join(root, "img", `img${id}.nii.gz`);
  const lab = (id: string) => path.join(root, "label", `label${id}.nii.gz`);
  mkdirSync(path.join(root, "img"), { recursive: true });
  mkdirSync(path.join(root, "label"), { recursive: true });
  for (const id of ["0002", "0003", "0004", "0005"]) await writeNifti(img(id), tinyImage());
  await writeNifti(lab("0002"), tinyLabels(13, 14));
  await writeNifti(lab("0003"), tiny(new Uint8Array(NX * NY * (NZ + 1)), [NX, NY, NZ + 1]));
  await writeNifti(lab("0004"), tiny(new Uint8Array(NX * NY * NZ), undefined, AFFINE.map((r, n) => (n === 0 ? [r[0], r[1], r[2], r[3] + 3] : r))));
  const ds = new BtcvDataset(root);
  assert.deepEqual(await ds.listCases(), ["0002", "0003", "0004", "0005"]);
  await assert.rejects(ds.loadCase("0002"), fileError(lab("0002"), /label value 14 at voxel 7 is not one of 0\.\.13/));
  await assert.rejects(ds.loadCase("0003"), fileError(lab("0003"), /label map shape \[4,3,6\] does not match image .*img0003\.nii\.gz shape \[4,3,5\]/));
  await assert.rejects(ds.loadCase("0004"), fileError(lab("0004"), /label map affine differs from image .*img0004\.nii\.gz by up to 3\.00 mm/));
  // A folder with label/: a case without its label file loads with a warning, or fails when asked.
  const c = await ds.loadCase("0005");
  assert.match(c.warnings.join("\n"), /label0005\.nii\.gz is missing: case 0005 has no labels/);
  await assert.rejects(ds.loadCase("0005", { labels: true }), fileError(lab("0005"), /missing \(asked for the labels of 0005\)/));
  await assert.rejects(ds.loadCase("0099"), fileError(path.join(root, "img0099.nii.gz"), /no BTCV case '0099'/));
  await writeNifti(lab("0013"), tinyLabels(13));
  const labelsOnly = await new BtcvDataset(root).loadCase("0013");
  assert.equal(labelsOnly.image, undefined);
  assert.match(labelsOnly.warnings.join("\n"), /img0013\.nii\.gz is missing/);
  await assert.rejects(new BtcvDataset(path.join(tmp, "nowhere")).listCases(), /not a folder/);
});

/** An MSD task folder with tiny volumes, liver_0 and liver_1, and the given dataset.json. */
async function tinyTask(name: string, json: Record<string, unknown>): Promise<string> {
  const root = path.join(tmp, "msd-errors", name);
  mkdirSync(path.join(root, "imagesTr"), { recursive: true });
  mkdirSync(path.join(root, "labelsTr"), { recursive: true });
  for (const id of ["liver_0", "liver_1"]) {
    await writeNifti(path.join(root, "imagesTr", `${id}.nii.gz`), tinyImage());
    await writeNifti(path.join(root, "labelsTr", `${id}.nii.gz`), tinyLabels(2));
  }
  const base = { name: "Liver", modality: { "0": "CT" }, labels: { "0": "background", "1": "liver", "2": "cancer" }, training: ["liver_0", "liver_1"].map((id) => ({ image: `./imagesTr/${id}.nii.gz`, label: `./labelsTr/${id}.nii.gz` })), test: [] };
  writeFileSync(path.join(root, "dataset.json"), JSON.stringify({ ...base, ...json }));
  return root;
}

test("MSD errors name dataset.json and the setting, or the file: non-CT modality, an unmappable label, files listed but absent, a shape mismatch, a bad value", async () => {
  const mr = await tinyTask("Task02_Heart", { name: "LeftAtrium", modality: { "0": "MRI" }, labels: { "0": "background", "1": "left atrium" } });
  await assert.rejects(new MsdDataset(mr).listCases(), fileError(path.join(mr, "dataset.json"), /"modality" \{"0":"MRI"\} is not CT: MsdDataset reads the CT tasks only \(Task03_Liver, /));
  const cyst = await tinyTask("Task03_Liver", { labels: { "0": "background", "1": "liver", "2": "hepatic cyst" } });
  await assert.rejects(new MsdDataset(cyst).description(), fileError(path.join(cyst, "dataset.json"), /"labels" entry "2": "hepatic cyst" has no name in the organ vocabulary \(task Task03_Liver maps "liver", "cancer"\)/));
  const custom = await tinyTask("Task55_Custom", { name: "Custom", labels: { "0": "background", "1": "Spleen", "2": "cancer" } });
  await assert.rejects(new MsdDataset(custom).description(), fileError(path.join(custom, "dataset.json"), /"cancer" has no name .*task "Custom" is not one of the MSD CT tasks/));
  const outside = await tinyTask("Task09_Spleen", { name: "Spleen", labels: { "0": "background", "1": "spleen" }, test: ["../elsewhere/spleen_9.nii.gz"] });
  await assert.rejects(new MsdDataset(outside).listCases(), fileError(path.join(outside, "dataset.json"), /"test"\[0\] "\.\.\/elsewhere\/spleen_9\.nii\.gz" is not a path inside the task folder/));

  // A partial copy: liver_7 listed with no files, liver_1's label deleted, an unlisted file.
  const partial = await tinyTask("Task03_Liver-partial", {});
  const json = JSON.parse(readFileSync(path.join(partial, "dataset.json"), "utf8"));
  json.training.push({ image: "./imagesTr/liver_7.nii.gz", label: "./labelsTr/liver_7.nii.gz" });
  writeFileSync(path.join(partial, "dataset.json"), JSON.stringify(json));
  rmSync(path.join(partial, "labelsTr", "liver_1.nii.gz"));
  symlinkSync(path.join(partial, "imagesTr", "liver_0.nii.gz"), path.join(partial, "imagesTr", "liver_99.nii.gz"));
  const ds = new MsdDataset(partial);
  assert.deepEqual(await ds.listCases(), ["liver_0", "liver_1"]);
  const inv = await ds.inventory();
  assert.deepEqual(inv.absent, [{ id: "liver_7", files: [path.join(partial, "imagesTr", "liver_7.nii.gz"), path.join(partial, "labelsTr", "liver_7.nii.gz")] }]);
  assert.deepEqual(inv.missing, [path.join(partial, "labelsTr", "liver_1.nii.gz")]);
  assert.deepEqual(inv.unlisted, ["imagesTr/liver_99.nii.gz"]);
  await assert.rejects(ds.loadCase("liver_7"), fileError(path.join(partial, "imagesTr", "liver_7.nii.gz"), /missing \(dataset\.json lists it: a partial copy\?\): case liver_7 has neither image nor labels/));
  const one = await ds.loadCase("liver_1");
  assert.match(one.warnings.join("\n"), /labelsTr\/liver_1\.nii\.gz is missing \(dataset\.json lists it/);
  await assert.rejects(ds.loadCase("liver_1", { labels: true }), fileError(path.join(partial, "labelsTr", "liver_1.nii.gz"), /missing \(dataset\.json lists it.*\(asked for the labels of liver_1\)/));
  await assert.rejects(ds.loadCase("liver_5"), fileError(path.join(partial, "dataset.json"), /no case 'liver_5' in "training" or "test"/));

  // Grid and values: a label map with one slice more, a value dataset.json has no name for.
  const grid = await tinyTask("Task03_Liver-grid", {});
  const lab0 = path.join(grid, "labelsTr", "liver_0.nii.gz");
  await writeNifti(lab0, tiny(new Uint8Array(NX * NY * (NZ + 1)), [NX, NY, NZ + 1]));
  await assert.rejects(new MsdDataset(grid).loadCase("liver_0"), fileError(lab0, /label map shape \[4,3,6\] does not match image .*liver_0\.nii\.gz shape \[4,3,5\]/));
  const lab1 = path.join(grid, "labelsTr", "liver_1.nii.gz");
  await writeNifti(lab1, tinyLabels(2, 3));
  await assert.rejects(new MsdDataset(grid).loadCase("liver_1"), fileError(lab1, /label value 3 at voxel 7 is not one of 0\.\.2/));
  await assert.rejects(new MsdDataset(path.join(tmp, "nowhere")).listCases(), fileError(path.join(tmp, "nowhere", "dataset.json"), /cannot read it \(MsdDataset opens a task folder/));
});
