/**
 * NIfTI-1 reading and writing, checked against nibabel (the reference reader) in both directions,
 * against the real sample files, and on malformed input.
 */
import { after, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import {
  Affine,
  NiftiDataType,
  Volume,
  VolumeFileError,
  VoxelArray,
  decodeNifti,
  encodeNifti,
  readNifti,
  writeNifti,
} from "../src/io";
import { nibabelSkip, runPythonJson, sharedDataPath, sharedDataSkip } from "./helpers/shared-data";

const tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-nifti-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** |a - b| <= tol * max(1, |b|) for every entry. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let n = 0; n < expected.length; n++) {
    const [a, b] = [actual[n], expected[n]];
    if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)))) assert.fail(`${what}[${n}]: ${a} vs expected ${b} (tol ${tol})`);
  }
}
const flat = (a: Affine) => a.flat();

/** Rotation (from a unit quaternion) * voxel sizes + offset: an oblique affine. */
function obliqueAffine(q: number[], sizes: number[], offset: number[], flipK = false): Affine {
  const n = Math.hypot(...q);
  const [a, b, c, d] = q.map((x) => x / n);
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c],
  ];
  const s = [sizes[0], sizes[1], flipK ? -sizes[2] : sizes[2]];
  return [...[0, 1, 2].map((i) => [r[i][0] * s[0], r[i][1] * s[1], r[i][2] * s[2], offset[i]]), [0, 0, 0, 1]];
}

/** Deterministic test data (an LCG) spanning [lo, hi]. */
function seeded(n: number, lo: number, hi: number, seed: number, integer: boolean): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const x = lo + (s / 2 ** 32) * (hi - lo);
    return integer ? Math.round(x) : x;
  });
}

const ARRAYS: Record<NiftiDataType, { ctor: new (xs: number[]) => VoxelArray; lo: number; hi: number; integer: boolean }> = {
  uint8: { ctor: Uint8Array as never, lo: 0, hi: 255, integer: true },
  int8: { ctor: Int8Array as never, lo: -128, hi: 127, integer: true },
  int16: { ctor: Int16Array as never, lo: -32768, hi: 32767, integer: true },
  uint16: { ctor: Uint16Array as never, lo: 0, hi: 65535, integer: true },
  int32: { ctor: Int32Array as never, lo: -2147483648, hi: 2147483647, integer: true },
  uint32: { ctor: Uint32Array as never, lo: 0, hi: 4294967295, integer: true },
  float32: { ctor: Float32Array as never, lo: -1000, hi: 1000, integer: false },
  float64: { ctor: Float64Array as never, lo: -1e6, hi: 1e6, integer: false },
};

function makeVolume(type: NiftiDataType, shape: number[], affine: Affine, seed: number): Volume {
  const t = ARRAYS[type];
  const n = shape.reduce((a, b) => a * b, 1);
  const spacing = [0, 1, 2].map((c) => Math.hypot(affine[0][c], affine[1][c], affine[2][c]));
  if (shape.length === 4) spacing.push(0.75);
  return { data: new t.ctor(seeded(n, t.lo, t.hi, seed, t.integer)), shape, spacing, affine };
}

const OBLIQUE = obliqueAffine([0.9, 0.2, -0.3, 0.25], [1.5, 0.8, 3.0], [-20.5, 10.25, 33.0]);
const OBLIQUE_LEFT = obliqueAffine([0.3, -0.8, 0.4, 0.1], [0.7, 0.7, 5.0], [100.0, -50.0, 12.5], true);

describe("NIfTI round trip through our own writer and reader", () => {
  for (const type of Object.keys(ARRAYS) as NiftiDataType[]) {
    test(`${type}: voxels, shape and affine survive .nii.gz`, async () => {
      const v = makeVolume(type, [5, 4, 3], OBLIQUE, 11);
      const file = path.join(tmp, `rt-${type}.nii.gz`);
      await writeNifti(file, v);
      const back = await readNifti(file);
      assert.deepEqual(back.shape, v.shape);
      assert.equal(back.data.constructor, v.data.constructor, "stored type is kept when there is no scaling");
      assert.deepEqual(Array.from(back.data), Array.from(v.data));
      assertClose(flat(back.affine), flat(v.affine), 1e-6, "affine");
      assert.equal(back.nifti.affineFrom, "sform");
      assertClose(flat(back.nifti.qform!), flat(v.affine), 1e-5, "qform written consistently");
      assert.equal(back.source, file);
    });
  }

  test("4D, plain .nii, left-handed affine, time spacing", async () => {
    const v = makeVolume("float32", [3, 4, 2, 5], OBLIQUE_LEFT, 3);
    const file = path.join(tmp, "rt-4d.nii");
    await writeNifti(file, v);
    const back = await readNifti(file);
    assert.equal(back.nifti.compressed, false);
    assert.deepEqual(back.shape, [3, 4, 2, 5]);
    assertClose(back.spacing, v.spacing, 1e-6, "spacing");
    assert.deepEqual(Array.from(back.data), Array.from(v.data));
    assertClose(flat(back.nifti.qform!), flat(v.affine), 1e-5, "qform with qfac -1");
  });

  test("scaling: physical values written as int16 with slope/intercept read back scaled", async () => {
    const v = makeVolume("float64", [4, 4, 4], OBLIQUE, 5);
    v.data = Float64Array.from(v.data, (x) => Math.round(x / 1000) * 0.5 - 10); // exactly representable
    const file = path.join(tmp, "rt-scaled.nii.gz");
    await writeNifti(file, v, { datatype: "int16", scaling: { slope: 0.5, inter: -10 } });
    const back = await readNifti(file);
    assert.equal(back.nifti.datatype, "int16");
    assert.equal(back.nifti.scaled, true);
    assert.ok(back.data instanceof Float32Array, "scaled int16 reads as float32");
    assertClose(back.data, v.data, 1e-6, "scaled voxels");
    const raw = await readNifti(file, { raw: true });
    assert.ok(raw.data instanceof Int16Array);
    assertClose(raw.data, Array.from(v.data, (x) => (x + 10) / 0.5), 0, "raw voxels");
  });

  test("a sheared affine stays exact in the sform; the qform holds the nearest rotation", async () => {
    const sheared = OBLIQUE.map((row) => row.slice());
    for (let r = 0; r < 3; r++) sheared[r][1] += 0.2 * sheared[r][0];
    const v = makeVolume("uint8", [3, 3, 3], sheared, 1);
    const back = await decodeNifti(encodeNifti(v, "sheared"), "sheared");
    assertClose(flat(back.affine), flat(sheared), 1e-6, "sform");
    const q = back.nifti.qform!;
    const cols = [0, 1, 2].map((c) => [q[0][c], q[1][c], q[2][c]]);
    const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    assert.ok(Math.abs(dot(cols[0], cols[1])) < 1e-4 && Math.abs(dot(cols[1], cols[2])) < 1e-4, "qform columns are orthogonal");
  });

  test("labels stay integer typed; writer refuses values that do not fit", async () => {
    const v: Volume = { data: Uint8Array.from([0, 1, 2, 3, 1, 0, 2, 2]), shape: [2, 2, 2], spacing: [1, 1, 1], affine: OBLIQUE };
    const back = await decodeNifti(encodeNifti(v, "labels"), "labels");
    assert.ok(back.data instanceof Uint8Array);
    const bad: Volume = { ...v, data: Float32Array.from([0, 1, 2, 300, 1, 0, 2, 2]) };
    assert.throws(() => encodeNifti(bad, "bad.nii", { datatype: "uint8" }), (e: unknown) => e instanceof VolumeFileError && /does not fit uint8/.test(e.message) && e.file === "bad.nii");
  });
});

// -----------------------------------------------------------------------------------------------
// nibabel cross-checks

interface NibCase {
  name: string;
  path: string;
  shape: number[];
  dtype: string;
  expectedAffine: number[][];
  affineFrom: "sform" | "qform" | "pixdim";
  zooms: number[];
  data: number[];
  scaled: boolean;
}

/** nibabel writes a set of files covering the header variants; we must read what it reads. */
const MAKE_REFERENCE_FILES = String.raw`
import sys, json, os, struct, gzip
import numpy as np, nibabel as nib
out = sys.argv[1]
rng = np.random.default_rng(20240601)

def quat_affine(q, sizes, offset, flip_k=False):
    a, b, c, d = np.asarray(q, float) / np.linalg.norm(q)
    R = np.array([[a*a+b*b-c*c-d*d, 2*(b*c-a*d), 2*(b*d+a*c)],
                  [2*(b*c+a*d), a*a+c*c-b*b-d*d, 2*(c*d-a*b)],
                  [2*(b*d-a*c), 2*(c*d+a*b), a*a+d*d-b*b-c*c]])
    s = np.array(sizes, float)
    if flip_k: s[2] = -s[2]
    A = np.eye(4); A[:3, :3] = R @ np.diag(s); A[:3, 3] = offset
    return A

OBL = quat_affine([0.9, 0.2, -0.3, 0.25], [1.5, 0.8, 3.0], [-20.5, 10.25, 33.0])
OBL2 = quat_affine([0.1, 0.7, 0.2, -0.6], [0.9, 1.1, 2.5], [5.0, -7.5, 60.0])
LEFT = quat_affine([0.3, -0.8, 0.4, 0.1], [0.7, 0.7, 5.0], [100.0, -50.0, 12.5], flip_k=True)
cases = []

def save(name, img, expected=None, affine_from="sform"):
    p = os.path.join(out, name)
    nib.save(img, p)
    back = nib.load(p)
    exp = back.affine if expected is None else expected
    cases.append(dict(name=name, path=p, shape=list(back.shape), dtype=str(back.get_data_dtype().newbyteorder('=')),
                      expectedAffine=np.asarray(exp).tolist(), affineFrom=affine_from,
                      zooms=[float(z) for z in back.header.get_zooms()],
                      data=back.get_fdata(dtype=np.float64).ravel(order='F').tolist(),
                      scaled=back.dataobj.slope != 1 or back.dataobj.inter != 0))

def ints(dtype, shape):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)

for dt in ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32']:
    save('nib-%s.nii.gz' % dt, nib.Nifti1Image(ints(dt, (5, 4, 3)), OBL))
save('nib-float32.nii.gz', nib.Nifti1Image(rng.normal(0, 100, (5, 4, 3)).astype(np.float32), OBL))
save('nib-float64.nii', nib.Nifti1Image(rng.normal(0, 1e5, (4, 3, 5)), OBL2))

img = nib.Nifti1Image(rng.normal(0, 50, (3, 4, 2, 6)).astype(np.float32), OBL)
img.header.set_xyzt_units('mm', 'sec'); img.header['pixdim'][4] = 0.8
save('nib-4d.nii.gz', img)

# Scaling chosen by nibabel itself: float data stored as int16.
img = nib.Nifti1Image(rng.uniform(-1000, 3000, (6, 5, 4)), OBL2)
img.set_data_dtype(np.int16)
save('nib-scaled-int16.nii.gz', img)
img = nib.Nifti1Image(rng.uniform(0, 1, (6, 5, 4)), OBL)
img.set_data_dtype(np.uint8)
save('nib-scaled-uint8.nii', img)

# sform only: the qform fields hold a different transform but qform_code is 0.
img = nib.Nifti1Image(ints('int16', (4, 4, 3)), None)
img.set_qform(OBL2, code=0); img.set_sform(OBL, code=2)
save('nib-sform-only.nii.gz', img, OBL, 'sform')
# qform only (left-handed: qfac = -1): the srow fields hold a different transform, sform_code 0.
img = nib.Nifti1Image(ints('int16', (4, 4, 3)), None)
img.set_sform(OBL2, code=0); img.set_qform(LEFT, code=1)
save('nib-qform-only.nii.gz', img, LEFT, 'qform')
# Both set and different, qform_code > sform_code: the standard still says sform.
img = nib.Nifti1Image(ints('int16', (4, 4, 3)), None)
img.set_sform(OBL, code=1); img.set_qform(OBL2, code=2)
save('nib-both-sform-wins.nii.gz', img, OBL, 'sform')
# Neither: NIfTI "method 1" is diag(pixdim); nibabel's own fallback (Analyze-like) differs.
img = nib.Nifti1Image(ints('uint8', (4, 4, 3)), None)
img.set_sform(OBL2, code=0); img.set_qform(OBL, code=0)
img.header.set_zooms((1.5, 0.8, 3.0))
save('nib-no-codes.nii.gz', img, np.diag([1.5, 0.8, 3.0, 1.0]), 'pixdim')
# Big-endian file.
img = nib.Nifti1Image(ints('int32', (5, 4, 3)), OBL, header=nib.Nifti1Header(endianness='>'))
save('nib-big-endian.nii', img)
# Units in metres: our affine is converted to mm.
img = nib.Nifti1Image(rng.normal(0, 1, (3, 3, 3)).astype(np.float32), OBL * np.array([[1e-3]] * 3 + [[1]]))
img.header.set_xyzt_units('meter')
save('nib-metres.nii.gz', img, OBL, 'sform')
# 2D image: dim[0] = 2.
save('nib-2d.nii.gz', nib.Nifti1Image(ints('int16', (7, 5)), OBL))

# scl_slope = 0 means "no scaling": patch an uncompressed file, intercept must be ignored too.
img = nib.Nifti1Image(ints('int16', (4, 3, 2)), OBL)
p = os.path.join(out, 'nib-slope0.nii'); nib.save(img, p)
raw = bytearray(open(p, 'rb').read()); raw[112:120] = struct.pack('<ff', 0.0, 5.0)
open(p, 'wb').write(bytes(raw))
back = nib.load(p)
cases.append(dict(name='nib-slope0.nii', path=p, shape=list(back.shape), dtype='int16', expectedAffine=back.affine.tolist(),
                  affineFrom='sform', zooms=[float(z) for z in back.header.get_zooms()],
                  data=back.get_fdata().ravel(order='F').tolist(), scaled=False))
print(json.dumps(cases))
`;

/** nibabel reads files we wrote and reports what it sees. */
const INSPECT_FILES = String.raw`
import sys, json
import numpy as np, nibabel as nib
res = []
for p in sys.argv[1:]:
    img = nib.load(p)
    with nib.openers.ImageOpener(p) as f:
        hdr = nib.Nifti1Header.from_fileobj(f, check=False)
    sform = hdr.get_sform(); 
    ref = nib.Nifti1Header(); ref.set_qform(sform, code=1, strip_shears=True)
    res.append(dict(path=p, shape=list(img.shape), dtype=str(img.get_data_dtype().newbyteorder('=')),
                    sform=sform.tolist(), qform=hdr.get_qform().tolist(), nibabelQformOfSform=ref.get_qform().tolist(),
                    sformCode=int(hdr['sform_code']), qformCode=int(hdr['qform_code']),
                    zooms=[float(z) for z in hdr.get_zooms()],
                    slope=float(hdr['scl_slope']), inter=float(hdr['scl_inter']),
                    problems=nib.Nifti1Header.diagnose_binaryblock(hdr.binaryblock),
                    data=img.get_fdata(dtype=np.float64).ravel(order='F').tolist()))
print(json.dumps(res))
`;

describe("nibabel cross-check", { skip: nibabelSkip() }, () => {
  test("we read nibabel's files: dtypes, 4D, oblique, scaling, sform/qform precedence, endianness, units, 2D", async () => {
    const dir = mkdtempSync(path.join(tmp, "from-nib-"));
    const cases = runPythonJson<NibCase[]>(MAKE_REFERENCE_FILES, [dir]);
    assert.ok(cases.length >= 18, `nibabel wrote ${cases.length} files`);
    for (const c of cases) {
      const v = await readNifti(c.path);
      const expectedShape = c.shape.length === 2 ? [...c.shape, 1] : c.shape;
      assert.deepEqual(v.shape, expectedShape, `${c.name}: shape`);
      assert.equal(v.nifti.datatype, c.dtype, `${c.name}: datatype`);
      assert.equal(v.nifti.affineFrom, c.affineFrom, `${c.name}: which transform`);
      assertClose(flat(v.affine), c.expectedAffine.flat(), 1e-5, `${c.name}: affine`);
      assert.equal(v.nifti.scaled, c.scaled, `${c.name}: scaled`);
      // Unscaled data must match exactly; scaled int16 comes back as float32 (~7 digits).
      assertClose(v.data, c.data, c.scaled ? 1e-6 : 0, `${c.name}: voxels`);
      if (v.shape.length === 4) assertClose(v.spacing, c.zooms, 1e-6, `${c.name}: spacing`);
      if (!c.scaled && c.dtype !== "float32" && c.dtype !== "float64") assert.ok(!(v.data instanceof Float32Array), `${c.name}: integer type kept`);
    }
  });

  test("nibabel reads our files: voxels, both transforms, codes, clean header", async () => {
    const sheared = OBLIQUE.map((row) => row.slice());
    for (let r = 0; r < 3; r++) sheared[r][2] += 0.3 * sheared[r][0];
    const written: { file: string; v: Volume; scaling?: { slope: number; inter: number }; shear?: boolean }[] = [];
    const types = Object.keys(ARRAYS) as NiftiDataType[];
    types.forEach((type, n) => written.push({ file: path.join(tmp, `ours-${type}.nii${n % 2 ? "" : ".gz"}`), v: makeVolume(type, [5, 3, 4], n % 2 ? OBLIQUE : OBLIQUE_LEFT, 100 + n) }));
    written.push({ file: path.join(tmp, "ours-4d.nii.gz"), v: makeVolume("int16", [4, 3, 2, 3], OBLIQUE_LEFT, 7) });
    const physical = makeVolume("float64", [4, 4, 3], OBLIQUE, 9);
    physical.data = Float64Array.from(physical.data, (x) => Math.round(x / 500) * 0.25 + 3);
    written.push({ file: path.join(tmp, "ours-scaled.nii.gz"), v: physical, scaling: { slope: 0.25, inter: 3 } });
    written.push({ file: path.join(tmp, "ours-sheared.nii.gz"), v: makeVolume("uint8", [3, 3, 3], sheared, 4), shear: true });
    for (const w of written) await writeNifti(w.file, w.v, w.scaling ? { datatype: "int16", scaling: w.scaling } : {});

    type Seen = { path: string; shape: number[]; sform: number[][]; qform: number[][]; nibabelQformOfSform: number[][]; sformCode: number; qformCode: number; zooms: number[]; slope: number; inter: number; problems: string; data: number[] };
    const seen = runPythonJson<Seen[]>(INSPECT_FILES, written.map((w) => w.file));
    seen.forEach((s, n) => {
      const w = written[n];
      const name = path.basename(w.file);
      assert.deepEqual(s.shape, w.v.shape, `${name}: shape`);
      assert.equal(s.problems, "", `${name}: nibabel finds header problems`);
      assert.equal(s.sformCode, 1, `${name}: sform_code`);
      assert.equal(s.qformCode, 1, `${name}: qform_code`);
      assertClose(s.sform.flat(), flat(w.v.affine), 1e-6, `${name}: sform`);
      // Without shear the qform is the same affine; with shear it equals nibabel's own
      // shear-stripped qform of that sform.
      assertClose(s.qform.flat(), w.shear ? s.nibabelQformOfSform.flat() : flat(w.v.affine), 1e-5, `${name}: qform`);
      assertClose(s.zooms, w.v.spacing, 1e-6, `${name}: zooms`);
      assertClose(s.data, w.v.data, w.scaling ? 1e-9 : 0, `${name}: voxels`);
      if (w.scaling) assert.deepEqual([s.slope, s.inter], [w.scaling.slope, w.scaling.inter]);
    });
  });
});

// -----------------------------------------------------------------------------------------------
// Real files

/** nibabel's view of a real file: geometry and voxel checksums (first index fastest). */
const CHECKSUMS = String.raw`
import sys, json, numpy as np, nibabel as nib
img = nib.load(sys.argv[1])
with nib.openers.ImageOpener(sys.argv[1]) as f:
    hdr = nib.Nifti1Header.from_fileobj(f, check=False)
data = np.asanyarray(img.dataobj)
shape = data.shape
data = data.reshape(shape[:3] + (-1,), order='F')
total = s = ss = ws = 0.0
for t in range(data.shape[3]):
    for k in range(data.shape[2]):
        chunk = data[:, :, k, t].astype(np.float64).ravel(order='F')
        idx = (np.arange(total, total + chunk.size) % 997) + 1
        s += chunk.sum(); ss += (chunk * chunk).sum(); ws += chunk @ idx
        total += chunk.size
print(json.dumps(dict(shape=list(shape), dtype=str(img.get_data_dtype()), affine=img.affine.tolist(),
      qform=hdr.get_qform().tolist(), sformCode=int(hdr['sform_code']), qformCode=int(hdr['qform_code']),
      slope=float(hdr['scl_slope']), inter=float(hdr['scl_inter']), sum=s, sumsq=ss, wsum=ws)))
`;

function checksums(data: ArrayLike<number>): { sum: number; sumsq: number; wsum: number } {
  let [sum, sumsq, wsum] = [0, 0, 0];
  for (let n = 0; n < data.length; n++) {
    const v = data[n];
    sum += v;
    sumsq += v * v;
    wsum += v * ((n % 997) + 1);
  }
  return { sum, sumsq, wsum };
}

const REAL_FILES: { parts: string[]; dtype: string; arrayType: string }[] = [
  { parts: ["mnms2-001", "001_SA_ED.nii.gz"], dtype: "float64", arrayType: "Float64Array" },
  { parts: ["mnms2-001", "001_LA_CINE.nii.gz"], dtype: "int16", arrayType: "Int16Array" },
  { parts: ["totalsegmentator", "example_ct_sm.nii.gz"], dtype: "int16", arrayType: "Int16Array" },
  { parts: ["kits19-labels", "case_00001_segmentation.nii.gz"], dtype: "uint8", arrayType: "Uint8Array" },
];

describe("real sample files agree with nibabel", () => {
  for (const f of REAL_FILES) {
    const skip = sharedDataSkip(f.parts) || nibabelSkip();
    test(f.parts.join("/"), { skip }, async () => {
      const file = sharedDataPath(...f.parts);
      const ref = runPythonJson<{ shape: number[]; dtype: string; affine: number[][]; sum: number; sumsq: number; wsum: number }>(CHECKSUMS, [file]);
      const v = await readNifti(file);
      assert.deepEqual(v.shape, ref.shape);
      assert.equal(v.nifti.datatype, f.dtype);
      assert.equal(ref.dtype, f.dtype);
      assert.equal(v.data.constructor.name, f.arrayType);
      assertClose(flat(v.affine), ref.affine.flat(), 1e-6, "affine");
      const ours = checksums(v.data);
      assertClose([ours.sum, ours.sumsq, ours.wsum], [ref.sum, ref.sumsq, ref.wsum], 1e-9, "checksums");
    });
  }

  test("KiTS19 quirk: axes stored (z, y, x), no origin, only the sform is set", { skip: sharedDataSkip(["kits19-labels", "case_00001_segmentation.nii.gz"]) }, async () => {
    const v = await readNifti(sharedDataPath("kits19-labels", "case_00001_segmentation.nii.gz"));
    assert.equal(v.nifti.affineFrom, "sform");
    assert.equal(v.nifti.qformCode, 0);
    // First axis (602 voxels, 0.5 mm) runs along world -z: the first index counts slices.
    assert.deepEqual(v.shape, [602, 512, 512]);
    assertClose([v.affine[2][0], v.affine[1][1], v.affine[0][2]], [-0.5, -0.798828125, -0.798828125], 1e-6, "axis permutation");
    assertClose([v.affine[0][3], v.affine[1][3], v.affine[2][3]], [0, 0, 0], 0, "origin");
    assert.ok(v.data instanceof Uint8Array, "labels stay uint8");
  });
});

// -----------------------------------------------------------------------------------------------
// Bad input

describe("bad NIfTI input gives a VolumeFileError naming the file and the problem", () => {
  const good = encodeNifti(
    { data: Int16Array.from({ length: 60 }, (_, n) => n - 30), shape: [5, 4, 3], spacing: [1.5, 0.8, 3], affine: OBLIQUE },
    "good",
  );
  const mutate = (edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array => {
    const b = good.slice();
    edit(new DataView(b.buffer), b);
    return b;
  };
  const cases: { what: string; bytes: Uint8Array; problem: RegExp }[] = [
    { what: "truncated data", bytes: good.subarray(0, good.length - 10), problem: /need 472 bytes.*holds only 462/ },
    { what: "truncated header", bytes: good.subarray(0, 200), problem: /truncated: 200 bytes/ },
    { what: "empty file", bytes: new Uint8Array(0), problem: /truncated: 0 bytes/ },
    { what: "wrong magic", bytes: mutate((_, b) => b.set([0x6e, 0x2b, 0x32, 0], 344)), problem: /wrong magic 'n\+2\\x00'/ },
    { what: "hdr/img pair", bytes: mutate((_, b) => b.set([0x6e, 0x69, 0x31, 0], 344)), problem: /\.hdr\/\.img pair/ },
    { what: "not NIfTI at all", bytes: new TextEncoder().encode("hello ".repeat(100)), problem: /not a NIfTI-1 file: sizeof_hdr/ },
    { what: "NIfTI-2", bytes: mutate((h) => h.setInt32(0, 540, true)), problem: /NIfTI-2/ },
    { what: "dims too big for the file", bytes: mutate((h) => h.setInt16(42, 1000, true)), problem: /dims \[1000,4,3\].*need/ },
    { what: "huge dims", bytes: mutate((h) => [42, 44, 46].forEach((o) => h.setInt16(o, 32767, true))), problem: /need \d+ bytes/ },
    { what: "negative dim", bytes: mutate((h) => h.setInt16(44, -4, true)), problem: /dim\[2\] = -4/ },
    { what: "dim[0] out of range", bytes: mutate((h) => h.setInt16(40, 9, true)), problem: /dim\[0\] = 9/ },
    { what: "5D", bytes: mutate((h) => { h.setInt16(40, 5, true); h.setInt16(50, 2, true); }), problem: /5D and higher/ },
    { what: "unsupported datatype", bytes: mutate((h) => h.setInt16(70, 32, true)), problem: /unsupported datatype 32 \(complex64\)/ },
    { what: "unknown datatype", bytes: mutate((h) => h.setInt16(70, 999, true)), problem: /unknown datatype code 999/ },
    { what: "bad vox_offset", bytes: mutate((h) => h.setFloat32(108, 100.5, true)), problem: /vox_offset = 100.5/ },
    { what: "non-finite sform", bytes: mutate((h) => h.setFloat32(284, NaN, true)), problem: /sform affine has non-finite/ },
    { what: "singular sform", bytes: mutate((h) => [280, 284, 288].forEach((o) => h.setFloat32(o, 0, true))), problem: /sform affine is singular/ },
    { what: "non-finite qform", bytes: mutate((h) => { h.setInt16(254, 0, true); h.setFloat32(268, Infinity, true); }), problem: /qform affine has non-finite/ },
    { what: "corrupt gzip", bytes: (() => { const z = gzipSync(good); z.fill(0x55, 20, 40); return z; })(), problem: /corrupt gzip/ },
    { what: "truncated gzip", bytes: gzipSync(good).subarray(0, 60), problem: /gzip data is truncated/ },
    { what: "gzip with a bad CRC", bytes: (() => { const z = gzipSync(good); z[z.length - 6] ^= 0xff; return z; })(), problem: /corrupt gzip/ },
    { what: "gzip of a too-short image", bytes: gzipSync(good.subarray(0, 400)), problem: /need 472 bytes.*holds only 400/ },
  ];
  for (const c of cases) {
    test(c.what, async () => {
      const name = `/data/${c.what.replace(/\W+/g, "-")}.nii`;
      await assert.rejects(decodeNifti(c.bytes, name), (e: unknown) => {
        assert.ok(e instanceof VolumeFileError, `expected VolumeFileError, got ${String(e)}`);
        assert.equal(e.file, name);
        assert.ok(e.message.startsWith(name + ": "), e.message);
        assert.match(e.problem, c.problem);
        return true;
      });
    });
  }

  test("errors from files on disk name the path", async () => {
    const file = path.join(tmp, "bad-magic.nii");
    writeFileSync(file, cases[3].bytes);
    await assert.rejects(readNifti(file), (e: unknown) => e instanceof VolumeFileError && e.file === file && e.message.includes(file) && /wrong magic/.test(e.message));
    const missing = path.join(tmp, "nope.nii.gz");
    await assert.rejects(readNifti(missing), (e: unknown) => e instanceof VolumeFileError && e.file === missing && /ENOENT/.test(e.message));
  });
});
