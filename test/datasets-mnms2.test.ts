import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { Mnms2Dataset, mnms2Name, parseMnms2Name } from "../src/datasets/mnms2.js";
import { VIEW_NAMES, PHASES } from "../src/datasets/types.js";
import { VolumeFileError } from "../src/io/errors.js";
import { writeNifti } from "../src/io/nifti.js";
import type { Volume } from "../src/io/volume.js";
import { generateCardiacExam, writeCardiacExam, type CardiacExam } from "../src/phantoms/cardiac/index.js";
import { sharedDataPath, sharedDataSkip } from "./helpers/shared-data.js";

const SAMPLE = sharedDataPath("mnms2-001");
const skipSample = sharedDataSkip(["mnms2-001", "001_SA_ED.nii.gz"]);

let tmp: string;
let exam: CardiacExam;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-mnms2-"));
  exam = generateCardiacExam(7, { matrix: 64, pixel: 4 });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Throws-assertion that also checks the error names `file`. */
async function rejectsNaming(p: Promise<unknown>, file: string, words: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VolumeFileError, `expected a VolumeFileError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.message, words);
    return true;
  });
}

test("file names: the parser inverts the M&Ms-2 names the phantom writer uses", () => {
  for (const view of VIEW_NAMES)
    for (const phase of PHASES)
      for (const labels of [false, true]) {
        const name = mnms2Name("042", view, phase, labels);
        assert.deepEqual(parseMnms2Name(name), { id: "042", view, phase, labels });
      }
  assert.deepEqual(parseMnms2Name("001_LA_CINE.nii.gz"), { id: "001", view: "4CH", phase: "CINE", labels: false });
  assert.deepEqual(parseMnms2Name("001_SA_ED.nii"), { id: "001", view: "SA", phase: "ED", labels: false });
  assert.equal(parseMnms2Name("001_SA_CINE_gt.nii.gz"), undefined);
  assert.equal(parseMnms2Name("001_SA_2CH_ED.nii.gz"), undefined);
  assert.equal(parseMnms2Name("dataset_information.csv"), undefined);
});

test("real M&Ms-2 subject 001 (flat folder): SA + 4CH at ED/ES with labels in the library convention", { skip: skipSample }, async () => {
  const ds = new Mnms2Dataset(SAMPLE);
  assert.deepEqual(await ds.listSubjects(), ["001"]);
  const s = await ds.loadSubject("001");
  assert.deepEqual(Object.keys(s.views).sort(), ["4CH", "SA"]);
  for (const [view, shape] of [["SA", [256, 256, 12]], ["4CH", [256, 256, 1]]] as const) {
    for (const phase of PHASES) {
      const li = s.views[view]?.[phase];
      assert.ok(li?.labels, `${view} ${phase} has labels`);
      assert.deepEqual(li.image.shape, shape);
      assert.deepEqual(li.labels.shape, shape);
      assert.deepEqual(li.labels.affine, li.image.affine);
      assert.ok(li.labels.data instanceof Uint8Array);
      assert.deepEqual([...new Set(li.labels.data)].sort(), [0, 1, 2, 3]);
    }
  }
  // M&Ms: 1 = LV blood pool is enclosed by 2 = myocardium; 3 = RV touches background.
  const gt = s.views.SA!.ED!.labels!;
  const [nx, ny, nz] = gt.shape;
  const neighbours = { 1: new Map<number, number>(), 3: new Map<number, number>() };
  for (let k = 0; k < nz; k++)
    for (let j = 1; j < ny - 1; j++)
      for (let i = 1; i < nx - 1; i++) {
        const o = i + nx * (j + ny * k);
        const l = gt.data[o];
        if (l !== 1 && l !== 3) continue;
        for (const d of [1, -1, nx, -nx]) {
          const m = gt.data[o + d];
          if (m !== l) neighbours[l].set(m, (neighbours[l].get(m) ?? 0) + 1);
        }
      }
  assert.ok((neighbours[1].get(2) ?? 0) > 50 * ((neighbours[1].get(0) ?? 0) + 1), "label 1 is surrounded by myocardium");
  assert.ok((neighbours[3].get(0) ?? 0) > 100, "label 3 borders background");

  const cine = await ds.loadCine("001", "4CH");
  assert.deepEqual(cine.shape, [256, 256, 1, 25]);
  await rejectsNaming(ds.loadCine("001", "SA"), path.join(SAMPLE, "001_SA_CINE.nii.gz"), /no SA cine/);
  const imagesOnly = await ds.loadSubject("001", { views: ["SA"], phases: ["ES"], labels: false });
  assert.deepEqual(Object.keys(imagesOnly.views), ["SA"]);
  assert.equal(imagesOnly.views.SA?.ES?.labels, undefined);
  await rejectsNaming(ds.loadSubject("001", { views: ["2CH"] }), path.join(SAMPLE, "001_LA_2CH_ED.nii.gz"), /missing/);
  await rejectsNaming(ds.loadSubject("002"), SAMPLE, /no subject '002'/);
});

test("synthetic subjects survive write -> read through the loader exactly (subfolder and flat layouts)", async () => {
  const root = path.join(tmp, "roundtrip");
  await writeCardiacExam(path.join(root, "007"), "007", exam); // one folder per subject
  await writeCardiacExam(root, "008", exam); // flat, next to it
  const ds = new Mnms2Dataset(root);
  assert.deepEqual(await ds.listSubjects(), ["007", "008"]);
  for (const id of ["007", "008"]) {
    const s = await ds.loadSubject(id);
    assert.deepEqual(Object.keys(s.views).sort(), ["2CH", "3CH", "4CH", "SA"]);
    for (const view of VIEW_NAMES)
      for (const phase of PHASES) {
        const want = exam.views[view][phase];
        const got = s.views[view]?.[phase];
        assert.ok(got?.labels, `${id} ${view} ${phase}`);
        assert.ok(got.image.data instanceof Float32Array);
        assert.deepEqual(got.image.shape, want.image.shape);
        assert.ok(Buffer.from(got.image.data.buffer, got.image.data.byteOffset, got.image.data.byteLength).equals(Buffer.from(want.image.data.buffer)), `${view} ${phase} voxels`);
        assert.deepEqual(got.labels.data, want.labels.data);
        // Exact: the phantom's affines are float32-representable.
        assert.deepEqual(got.image.affine, want.image.affine);
        assert.deepEqual(got.labels.affine, want.labels.affine);
      }
  }
});

test("errors name the file: mismatched label grid, label without image, stray and duplicate files", async () => {
  const affine = [[2, 0, 0, -10], [0, 2, 0, 5], [0, 0, 8, 3], [0, 0, 0, 1]];
  const vol = (shape: number[], a = affine, fill = 0): Volume => ({
    data: new Uint8Array(shape.reduce((x, y) => x * y, 1)).fill(fill),
    shape,
    spacing: [2, 2, 8],
    affine: a,
  });
  const write = (dir: string, name: string, v: Volume) => {
    mkdirSync(dir, { recursive: true });
    return writeNifti(path.join(dir, name), v);
  };

  const shapeDir = path.join(tmp, "bad-shape");
  await write(shapeDir, "001_SA_ED.nii.gz", vol([4, 4, 2]));
  await write(shapeDir, "001_SA_ED_gt.nii.gz", vol([4, 4, 3]));
  await rejectsNaming(new Mnms2Dataset(shapeDir).loadSubject("001", { phases: ["ED"] }), path.join(shapeDir, "001_SA_ED_gt.nii.gz"), /shape \[4,4,3\] does not match image .*001_SA_ED\.nii\.gz/);

  const affineDir = path.join(tmp, "bad-affine");
  await write(affineDir, "001_SA_ED.nii.gz", vol([4, 4, 2]));
  await write(affineDir, "001_SA_ED_gt.nii.gz", vol([4, 4, 2], [[2, 0, 0, -10], [0, 2, 0, 6], [0, 0, 8, 3], [0, 0, 0, 1]]));
  await rejectsNaming(new Mnms2Dataset(affineDir).loadSubject("001", { phases: ["ED"] }), path.join(affineDir, "001_SA_ED_gt.nii.gz"), /affine differs .* by up to 1\.00 mm/);

  const badLabel = path.join(tmp, "bad-label");
  await write(badLabel, "001_SA_ED.nii.gz", vol([4, 4, 2]));
  await write(badLabel, "001_SA_ED_gt.nii.gz", vol([4, 4, 2], affine, 4));
  await rejectsNaming(new Mnms2Dataset(badLabel).loadSubject("001", { phases: ["ED"] }), path.join(badLabel, "001_SA_ED_gt.nii.gz"), /label value 4/);

  const noImage = path.join(tmp, "no-image", "001");
  await write(noImage, "001_SA_ED.nii.gz", vol([4, 4, 2]));
  await write(noImage, "001_SA_ES_gt.nii.gz", vol([4, 4, 2]));
  await rejectsNaming(new Mnms2Dataset(path.dirname(noImage)).loadSubject("001"), path.join(noImage, "001_SA_ES_gt.nii.gz"), /has no image: expected .*001_SA_ES\.nii\.gz/);

  const stray = path.join(tmp, "stray");
  await write(path.join(stray, "001"), "002_SA_ED.nii.gz", vol([4, 4, 2]));
  await rejectsNaming(new Mnms2Dataset(stray).listSubjects(), path.join(stray, "001", "002_SA_ED.nii.gz"), /subject 002 is in folder 001/);

  const dup = path.join(tmp, "dup");
  await write(dup, "001_SA_ED.nii.gz", vol([4, 4, 2]));
  await write(dup, "001_SA_ED.nii", vol([4, 4, 2]));
  await assert.rejects(new Mnms2Dataset(dup).listSubjects(), /duplicate of/);

  // The release's parent folder (holding dataset/NNN/) works too.
  const release = path.join(tmp, "release");
  await write(path.join(release, "dataset", "003"), "003_SA_ED.nii.gz", vol([4, 4, 2]));
  writeFileSync(path.join(release, "dataset_information.csv"), "SUBJECT_CODE\n3\n");
  assert.deepEqual(await new Mnms2Dataset(release).listSubjects(), ["003"]);
  renameSync(path.join(release, "dataset", "003"), path.join(release, "dataset", "004"));
  await assert.rejects(new Mnms2Dataset(release).listSubjects(), /subject 003 is in folder 004/);
});
