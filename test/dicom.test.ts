/**
 * DICOM series reading: slice order and affine from synthetic slices whose tags we control, the
 * real Sunnybrook cine (one phase -> 256x256x12), and bad series.
 */
import { after, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as dicomParser from "dicom-parser";
import { VolumeFileError, listDicomPhases, readDicomFolder, readDicomSeries, voxelToWorld } from "../src/io";
import { SynthSlice, synthDicom } from "./helpers/dicom-synth";
import { sharedDataPath, sharedDataSkip } from "./helpers/shared-data";

const tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-dicom-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let folderCount = 0;

/** Write slices into a fresh folder; returns the file paths in the given order. */
function writeSeries(slices: SynthSlice[], names?: string[]): string[] {
  const dir = path.join(tmp, `series-${folderCount++}`);
  mkdirSync(dir);
  return slices.map((s, n) => {
    const file = path.join(dir, names?.[n] ?? `${n + 1}.dcm`);
    writeFileSync(file, synthDicom(s));
    return file;
  });
}

const near = (a: number[], b: number[], tol: number) => a.every((x, n) => Math.abs(x - b[n]) <= tol);
const lpsToRas = (p: number[]) => [-p[0], -p[1], p[2]];
const cross = (a: number[], b: number[]) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** Where DICOM puts pixel (column c, row r) of a slice, in LPS (PS 3.3 C.7.6.2.1.1). */
function dicomPixelLps(s: SynthSlice, c: number, r: number): number[] {
  return [0, 1, 2].map((k) => s.position[k] + s.orientation[k] * s.pixelSpacing[1] * c + s.orientation[3 + k] * s.pixelSpacing[0] * r);
}

const ROWS = 3;
const COLS = 4;
function slice(z: number, extra: Partial<SynthSlice> = {}): SynthSlice {
  return {
    rows: ROWS,
    columns: COLS,
    position: [-10, 20, z],
    orientation: [1, 0, 0, 0, 1, 0],
    pixelSpacing: [0.5, 0.8], // different row/column spacing catches swapped axes
    pixels: Array.from({ length: ROWS * COLS }, (_, n) => Math.round(z * 10) + n),
    signed: true,
    ...extra,
  };
}

describe("synthetic DICOM series", () => {
  test("slices are sorted by position along the normal, not by InstanceNumber or file order", async () => {
    const zs = [15, 5, 12.5, 7.5, 10];
    const slices = zs.map((z, n) => slice(z, { instanceNumber: n + 1 }));
    const files = writeSeries(slices);
    const v = await readDicomSeries(files);
    assert.deepEqual(v.shape, [COLS, ROWS, 5]);
    assert.ok(v.data instanceof Int16Array, "stored type kept without rescale");
    const order = [...zs].sort((a, b) => a - b);
    assert.deepEqual(v.dicom.files, order.map((z) => files[zs.indexOf(z)]));
    order.forEach((z, k) => assert.equal(v.data[k * ROWS * COLS], Math.round(z * 10), `slice ${k} holds z=${z}`));
    assert.deepEqual(v.spacing, [0.8, 0.5, 2.5]);
    // Every pixel of every slice lands where DICOM says it is (LPS -> RAS).
    order.forEach((z, k) => {
      const s = slices[zs.indexOf(z)];
      for (const [c, r] of [[0, 0], [COLS - 1, 0], [0, ROWS - 1], [2, 1]]) {
        assert.ok(near(voxelToWorld(v.affine, [c, r, k]), lpsToRas(dicomPixelLps(s, c, r)), 1e-9), `pixel (${c},${r}) of slice ${k}`);
      }
    });
  });

  test("oblique slices, rescale slope/intercept per slice applied as float32", async () => {
    const c = Math.cos(0.4);
    const s = Math.sin(0.4);
    const orientation = [c, s, 0, -s * Math.cos(0.3), c * Math.cos(0.3), -Math.sin(0.3)];
    const normal = cross(orientation.slice(0, 3), orientation.slice(3));
    const slices = [0, 1, 2].map((k) =>
      slice(0, {
        orientation,
        position: [3 + 6 * normal[0] * k, -4 + 6 * normal[1] * k, 50 + 6 * normal[2] * k],
        rescaleSlope: 0.5 * (k + 1),
        rescaleIntercept: -1024,
        pixels: Array.from({ length: ROWS * COLS }, (_, n) => 100 * k + n),
        signed: false,
      }),
    );
    const v = await readDicomSeries(writeSeries(slices).reverse());
    assert.ok(v.data instanceof Float32Array);
    assert.equal(v.dicom.rescaled, true);
    for (let k = 0; k < 3; k++)
      for (let n = 0; n < ROWS * COLS; n++) assert.equal(v.data[k * ROWS * COLS + n], 0.5 * (k + 1) * (100 * k + n) - 1024);
    assert.ok(Math.abs(v.spacing[2] - 6) < 1e-6, `slice spacing ${v.spacing[2]}`);
    slices.forEach((sl, k) => assert.ok(near(voxelToWorld(v.affine, [3, 2, k]), lpsToRas(dicomPixelLps(sl, 3, 2)), 1e-6)));
  });

  test("a cine folder groups into phases by position and TriggerTime", async () => {
    const slices: SynthSlice[] = [];
    for (let pos = 0; pos < 3; pos++)
      for (let ph = 0; ph < 4; ph++) slices.push(slice(10 * pos, { instanceNumber: 1 + pos * 4 + ph, triggerTime: 50 * ph + pos, pixels: Array(ROWS * COLS).fill(ph) }));
    const files = writeSeries(slices);
    const cine = await listDicomPhases(path.dirname(files[0]));
    assert.equal(cine.positions, 3);
    assert.equal(cine.phases.length, 4);
    assert.deepEqual(cine.phases.map((p) => p.triggerTime), [1, 51, 101, 151]);
    const v = await readDicomFolder(path.dirname(files[0]), { phase: 2 });
    assert.deepEqual(v.shape, [COLS, ROWS, 3]);
    assert.ok(Array.from(v.data).every((x) => x === 2), "every slice from phase 2");
    assert.deepEqual(v.dicom.phase, { index: 2, count: 4, triggerTime: 101 });
    await assert.rejects(readDicomSeries(files), (e: unknown) => e instanceof VolumeFileError && /duplicate slice position.*listDicomPhases/.test(e.message));
  });
});

describe("bad DICOM series give a VolumeFileError naming the file and the problem", () => {
  const expectError = async (files: string[], badFile: string, problem: RegExp) =>
    assert.rejects(readDicomSeries(files), (e: unknown) => {
      assert.ok(e instanceof VolumeFileError, `expected VolumeFileError, got ${String(e)}`);
      assert.equal(e.file, badFile);
      assert.ok(e.message.includes(badFile));
      assert.match(e.problem, problem);
      return true;
    });

  test("mixed orientations", async () => {
    const files = writeSeries([slice(0), slice(2), slice(4, { orientation: [0, 1, 0, 0, 0, -1] })]);
    await expectError(files, files[2], /mixed orientations/);
  });
  test("duplicate slice positions", async () => {
    const files = writeSeries([slice(0), slice(2), slice(2)]);
    await expectError(files, files[2], /duplicate slice position/);
  });
  for (const [tag, name] of [["x00200032", "ImagePositionPatient"], ["x00200037", "ImageOrientationPatient"], ["x00280030", "PixelSpacing"], ["x00280010", "Rows"], ["x7fe00010", "PixelData"]]) {
    test(`missing ${name}`, async () => {
      const files = writeSeries([slice(0), slice(2, { omit: [tag] }), slice(4)]);
      await expectError(files, files[1], new RegExp(`missing tag .*${name}`));
    });
  }
  test("not a DICOM file", async () => {
    const files = writeSeries([slice(0), slice(2)]);
    writeFileSync(files[1], "this is not dicom".repeat(20));
    await expectError(files, files[1], /not a readable DICOM file/);
  });
  test("truncated file", async () => {
    const files = writeSeries([slice(0), slice(2)]);
    writeFileSync(files[0], readFileSync(files[0]).subarray(0, -7));
    await expectError(files, files[0], /DICOM|PixelData/);
  });
  test("non-uniform slice spacing (a missing slice)", async () => {
    const files = writeSeries([slice(0), slice(2), slice(4), slice(8)]);
    await expectError(files, files[3], /slice spacing is not uniform: 4\.000 mm from .*3\.dcm, the median gap is 2\.000 mm/);
  });
  test("different image sizes", async () => {
    const files = writeSeries([slice(0), slice(2, { rows: 2, pixels: Array(8).fill(0) })]);
    await expectError(files, files[1], /image size 4x2 differs/);
  });
  test("seeded byte mutations and truncations of a valid file: read, or VolumeFileError naming it", async () => {
    const [file] = writeSeries([slice(3, { instanceNumber: 1, triggerTime: 10 })]);
    const good = readFileSync(file);
    let seed = 99;
    const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const failures: string[] = [];
    for (let n = 0; n < 500; n++) {
      const b = Uint8Array.from(good);
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) b[132 + Math.floor(r() * (b.length - 132))] = Math.floor(r() * 256);
      writeFileSync(file, r() < 0.2 ? b.subarray(0, Math.floor(r() * b.length)) : b);
      try {
        await readDicomSeries([file]);
      } catch (e) {
        if (!(e instanceof VolumeFileError && e.file === file)) failures.push(`case ${n}: ${String(e)}`);
      }
    }
    assert.deepEqual(failures.slice(0, 5), []);
  });
  test("no files, missing file", async () => {
    await assert.rejects(readDicomSeries([]), VolumeFileError);
    const missing = path.join(tmp, "missing.dcm");
    await expectError([missing], missing, /cannot read file/);
  });
});

// -----------------------------------------------------------------------------------------------
// Real cine: Sunnybrook SCD0000101 (12 positions x 20 phases, N.dcm with N = InstanceNumber)

const SCD = ["sunnybrook", "dicoms", "SCD0000101"];

describe("Sunnybrook SCD0000101", { skip: sharedDataSkip(SCD) }, () => {
  const folder = sharedDataPath(...SCD);

  test("one cardiac phase is a 256x256x12 volume whose affine reproduces every slice's IPP", async () => {
    const cine = await listDicomPhases(folder);
    assert.equal(cine.positions, 12);
    assert.equal(cine.phases.length, 20);
    const times = cine.phases.map((p) => p.triggerTime ?? NaN);
    assert.ok(times.every((t, n) => n === 0 || t > times[n - 1]), "phases ordered by trigger time");
    // In this export each position holds 20 consecutive instance numbers: phase 0 = 1, 21, ...
    const names = cine.phases[0].files.map((f) => Number(path.basename(f, ".dcm"))).sort((a, b) => a - b);
    assert.deepEqual(names, Array.from({ length: 12 }, (_, k) => 1 + 20 * k));

    const v = await readDicomSeries(cine.phases[0].files);
    assert.deepEqual(v.shape, [256, 256, 12]);
    assert.ok(v.data instanceof Int16Array);
    assert.ok(Math.abs(v.spacing[2] - 10) < 0.01, `slice spacing ${v.spacing[2]}`);
    assert.ok(Math.abs(v.spacing[0] - 1.367188) < 1e-6 && Math.abs(v.spacing[1] - 1.367188) < 1e-6);

    let worst = 0;
    v.dicom.files.forEach((file, k) => {
      const ds = dicomParser.parseDicom(readFileSync(file), { untilTag: "x7fe00010" });
      const ipp = (ds.string("x00200032") ?? "").split("\\").map(Number);
      const err = Math.hypot(...voxelToWorld(v.affine, [0, 0, k]).map((x, n) => x - lpsToRas(ipp)[n]));
      worst = Math.max(worst, err);
    });
    assert.ok(worst < 1e-3, `voxel (0,0,k) is ${worst} mm from slice k's IPP`);

    // Slice 0's voxels are that file's stored pixels, row by row.
    const bytes = readFileSync(v.dicom.files[0]);
    const ds = dicomParser.parseDicom(bytes);
    const el = ds.elements.x7fe00010;
    const raw = new Int16Array(bytes.buffer.slice(bytes.byteOffset + el.dataOffset, bytes.byteOffset + el.dataOffset + 2 * 256 * 256));
    assert.deepEqual(Array.from(v.data.subarray(0, 256 * 256)), Array.from(raw));
  });

  test("readDicomFolder reads phase 0 by default and says how many phases there are", async () => {
    const v = await readDicomFolder(folder);
    assert.deepEqual(v.shape, [256, 256, 12]);
    assert.equal(v.dicom.phase?.count, 20);
    assert.equal(v.dicom.phase?.index, 0);
  });
});

test("Sunnybrook SCD0000201: 13 positions x 20 phases", { skip: sharedDataSkip(["sunnybrook", "dicoms", "SCD0000201"]) }, async () => {
  const v = await readDicomFolder(sharedDataPath("sunnybrook", "dicoms", "SCD0000201"), { phase: 7 });
  assert.deepEqual(v.shape, [256, 256, 13]);
  assert.equal(v.dicom.phase?.count, 20);
});
