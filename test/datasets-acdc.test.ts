import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { ACDC_TO_LIBRARY, AcdcDataset, parseAcdcInfo } from "../src/datasets/acdc.js";
import { LABEL } from "../src/datasets/types.js";
import { VolumeFileError } from "../src/io/errors.js";
import { writeNifti } from "../src/io/nifti.js";
import type { Volume } from "../src/io/volume.js";

// A tiny ACDC tree, written the way the real release is laid out (database/training/patientNNN),
// with labels in ACDC's own convention: 1 RV, 2 myocardium, 3 LV.
const [NX, NY, NZ, NT] = [6, 5, 2, 3];
const AFFINE = [[-1.5, 0, 0, 40], [0, -1.5, 0, 30], [0, 0, 10, -20], [0, 0, 0, 1]];
const RV_VOXEL = 1 + NX * 1; // (1, 1, 0)
const LV_VOXEL = 4 + NX * 3 + NX * NY; // (4, 3, 1)
const MYO_VOXEL = 3 + NX * 3 + NX * NY;

let root: string;
const vol = (data: Volume["data"], shape = [NX, NY, NZ]): Volume => ({ data, shape, spacing: [1.5, 1.5, 10, 0.03].slice(0, shape.length), affine: AFFINE });

async function writePatient(dir: string, id: string, info: string, withLabels: boolean): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "Info.cfg"), info);
  const cine = new Int16Array(NX * NY * NZ * NT).map((_, n) => n);
  await writeNifti(path.join(dir, `${id}_4d.nii.gz`), vol(cine, [NX, NY, NZ, NT]));
  for (const frame of [1, 3]) {
    const ff = String(frame).padStart(2, "0");
    await writeNifti(path.join(dir, `${id}_frame${ff}.nii.gz`), vol(cine.slice((frame - 1) * NX * NY * NZ, frame * NX * NY * NZ)));
    if (!withLabels) continue;
    const gt = new Uint8Array(NX * NY * NZ);
    gt[RV_VOXEL] = 1;
    gt[MYO_VOXEL] = 2;
    gt[LV_VOXEL] = 3;
    await writeNifti(path.join(dir, `${id}_frame${ff}_gt.nii.gz`), vol(gt));
  }
}

before(async () => {
  root = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-acdc-"));
  const info = "ED: 1\nES: 3\nGroup: DCM\nHeight: 184.0\nNbFrame: 3\nWeight: 95.0\n";
  await writePatient(path.join(root, "database", "training", "patient001"), "patient001", info, true);
  await writePatient(path.join(root, "database", "testing", "patient101"), "patient101", info.replace("DCM", "NOR"), false);
});
after(() => rmSync(root, { recursive: true, force: true }));

test("ACDC labels are remapped to the library convention (1 LV, 2 myo, 3 RV) on load", async () => {
  assert.deepEqual([...ACDC_TO_LIBRARY], [0, LABEL.rv, LABEL.myocardium, LABEL.lv]);
  const ds = new AcdcDataset(root);
  assert.deepEqual(await ds.listSubjects(), ["patient001", "patient101"]);
  const s = await ds.loadSubject("patient001");
  assert.equal(s.info.group, "DCM");
  assert.equal(s.info.height, 184);
  assert.equal(s.info.weight, 95);
  assert.equal(s.info.edFrame, 1);
  assert.equal(s.info.esFrame, 3);
  for (const phase of ["ED", "ES"] as const) {
    const li = s.views.SA?.[phase];
    assert.ok(li?.labels);
    assert.equal(li.labels.data[LV_VOXEL], LABEL.lv, "ACDC 3 (LV) -> 1");
    assert.equal(li.labels.data[RV_VOXEL], LABEL.rv, "ACDC 1 (RV) -> 3");
    assert.equal(li.labels.data[MYO_VOXEL], LABEL.myocardium);
    assert.equal(li.labels.data.reduce((a, b) => a + b, 0), 6);
    assert.deepEqual(li.image.affine, AFFINE);
  }
  // The ES image is frame 3 of the cine (Info.cfg frames are 1-based).
  const es = s.views.SA!.ES!.image;
  assert.equal(es.data[0], 2 * NX * NY * NZ);
  const cine = await ds.loadCine("patient001");
  assert.deepEqual(cine.shape, [NX, NY, NZ, NT]);

  const test101 = await ds.loadSubject("patient101");
  assert.equal(test101.info.group, "NOR");
  assert.equal(test101.views.SA?.ED?.labels, undefined, "no _gt: image only");
});

test("ACDC errors name the file: Info.cfg problems, a missing frame, a label out of range", async () => {
  const info = (text: string) => () => parseAcdcInfo(text, "/x/Info.cfg");
  assert.throws(info("ED: 1\n"), (e: unknown) => e instanceof VolumeFileError && e.file === "/x/Info.cfg" && /no "ES:" line/.test(e.message));
  assert.throws(info("ED: 0\nES: 2\n"), /ED frame "0" is not a frame number/);
  assert.throws(info("ED: 1\nES: 40\nNbFrame: 30\n"), /ES frame 40 is beyond NbFrame 30/);
  assert.throws(info("ED 1\n"), /line 1 is not "Key: value"/);
  assert.deepEqual(parseAcdcInfo("ED: 1\r\nES: 12\r\nGroup: HCM\r\n", "f"), { ED: 1, ES: 12, group: "HCM", height: undefined, weight: undefined, nbFrame: undefined });

  const broken = path.join(root, "broken");
  const dir = path.join(broken, "patient002");
  await writePatient(dir, "patient002", "ED: 1\nES: 2\n", true); // frame02 was never written
  const ds = new AcdcDataset(broken);
  await assert.rejects(ds.loadSubject("patient002"), (e: unknown) => {
    assert.ok(e instanceof VolumeFileError);
    assert.equal(e.file, path.join(dir, "patient002_frame02.nii.gz"));
    assert.match(e.message, /missing: Info.cfg gives ES = frame 2/);
    return true;
  });
  await assert.rejects(ds.loadSubject("patient002", { views: ["4CH"] }), /short-axis images only/);
  await assert.rejects(ds.loadSubject("patient999"), /no ACDC subject 'patient999'/);

  const gt = new Uint8Array(NX * NY * NZ);
  gt[0] = 4;
  await writeNifti(path.join(dir, "patient002_frame01_gt.nii.gz"), vol(gt));
  await assert.rejects(ds.loadSubject("patient002", { phases: ["ED"] }), (e: unknown) => e instanceof VolumeFileError && e.file === path.join(dir, "patient002_frame01_gt.nii.gz") && /label value 4/.test(e.message));
});
