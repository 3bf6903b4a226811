/**
 * Fuzzing the NIfTI reader: seeded mutations of valid small files (header fields set to edge
 * values, random header bytes, truncations), each read plain and gzipped, plus damaged gzip
 * streams. Every case must either read into a valid Volume or throw a VolumeFileError naming the
 * file; anything else (TypeError, RangeError from a library, a crash, a hang) fails.
 * FUZZ_SEED=n reruns with another seed.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { Affine, Volume, VolumeFileError, decodeNifti, encodeNifti, readNifti, validateVolume } from "../src/io";

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const MUTATED_CONTENTS = 4000; // each read plain and gzipped
const GZIP_DAMAGE = 1500;
const ON_DISK = 200;
const CASE_TIMEOUT_MS = 5000;

/** Small seeded PRNG (mulberry32): the same seed replays the same cases. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const OBLIQUE: Affine = [
  [0.9, -0.3, 0.2, -20],
  [0.3, 0.95, -0.1, 15],
  [-0.2, 0.1, 2.9, 40],
  [0, 0, 0, 1],
];

/** The valid files we mutate: different types, 3D/4D, scaling, qform-only. */
function baseFiles(): Uint8Array[] {
  const v3: Volume = { data: Int16Array.from({ length: 120 }, (_, n) => n * 7 - 300), shape: [6, 5, 4], spacing: [0.95, 1, 2.9], affine: OBLIQUE };
  const v4: Volume = { data: Float32Array.from({ length: 36 }, (_, n) => Math.sin(n)), shape: [3, 3, 2, 2], spacing: [0.95, 1, 2.9, 0.5], affine: OBLIQUE };
  const v8: Volume = { data: Uint8Array.from({ length: 64 }, (_, n) => n % 5), shape: [4, 4, 4], spacing: [1, 1, 1], affine: OBLIQUE };
  const scaled = encodeNifti({ ...v3, data: Float64Array.from(v3.data, (x) => 2 * x + 1) }, "base", { datatype: "int16", scaling: { slope: 2, inter: 1 } });
  return [encodeNifti(v3, "base"), encodeNifti(v4, "base"), encodeNifti(v8, "base", { sformCode: 0 }), scaled];
}

type Kind = "i16" | "i32" | "f32" | "u8";
/** Header fields worth hitting with edge values (offset, type). */
const FIELDS: [number, Kind][] = [
  [0, "i32"], // sizeof_hdr
  ...Array.from({ length: 8 }, (_, d) => [40 + 2 * d, "i16"] as [number, Kind]), // dim[0..7]
  [68, "i16"], [70, "i16"], [72, "i16"], // intent, datatype, bitpix
  ...Array.from({ length: 8 }, (_, d) => [76 + 4 * d, "f32"] as [number, Kind]), // pixdim
  [108, "f32"], [112, "f32"], [116, "f32"], // vox_offset, scl_slope, scl_inter
  [123, "u8"], [252, "i16"], [254, "i16"], // xyzt_units, qform_code, sform_code
  ...Array.from({ length: 6 }, (_, n) => [256 + 4 * n, "f32"] as [number, Kind]), // quatern, qoffset
  ...Array.from({ length: 12 }, (_, n) => [280 + 4 * n, "f32"] as [number, Kind]), // srow
  [344, "u8"], [345, "u8"], [346, "u8"], [347, "u8"], [348, "u8"], // magic, extension flag
];
const SPECIAL: Record<Kind, number[]> = {
  i16: [0, 1, -1, 2, 3, 4, 5, 7, 8, 16, 64, 256, 512, 768, 1024, 32767, -32768, 255, 352],
  i32: [348, 540, 0, -1, 0x5c010000, 2147483647, -2147483648],
  f32: [0, -0, 1, -1, 0.5, 2, NaN, Infinity, -Infinity, 1e38, -1e38, 1e-38, 348, 351, 352, 353, 1e9, 3.4e38],
  u8: [0, 1, 2, 3, 8, 16, 0x6e, 0x2b, 0x31, 0x69, 255],
};

function setField(view: DataView, [offset, kind]: [number, Kind], value: number): void {
  if (kind === "i16") view.setInt16(offset, value, true);
  else if (kind === "i32") view.setInt32(offset, value, true);
  else if (kind === "f32") view.setFloat32(offset, value, true);
  else view.setUint8(offset, value);
}

function mutate(base: Uint8Array, r: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  let b = base.slice();
  const view = new DataView(b.buffer);
  const op = r();
  if (op < 0.55) {
    const n = 1 + Math.floor(r() * 3);
    for (let k = 0; k < n; k++) {
      const field = pick(FIELDS);
      const value = r() < 0.75 ? pick(SPECIAL[field[1]]) : field[1] === "f32" ? (r() - 0.5) * 10 ** Math.floor(r() * 12) : Math.floor(r() * 65536) - 32768;
      setField(view, field, field[1] === "u8" ? value & 255 : value);
    }
  } else if (op < 0.8) {
    const n = 1 + Math.floor(r() * 8);
    for (let k = 0; k < n; k++) b[Math.floor(r() * 352)] = Math.floor(r() * 256);
  }
  if (op >= 0.8 || r() < 0.15) b = b.slice(0, Math.floor(r() * b.length));
  return b;
}

/** Damage a gzip stream: flip bytes, truncate, or append junk. */
function damageGzip(gz: Uint8Array, r: () => number): Uint8Array {
  const b = gz.slice();
  const op = r();
  if (op < 0.4) {
    const n = 1 + Math.floor(r() * 4);
    for (let k = 0; k < n; k++) b[Math.floor(r() * b.length)] ^= 1 + Math.floor(r() * 255);
    return b;
  }
  if (op < 0.8) return b.slice(0, Math.floor(r() * b.length));
  const junk = Uint8Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256));
  const out = new Uint8Array(b.length + junk.length);
  out.set(b);
  out.set(junk, b.length);
  return out;
}

interface Tally {
  read: number;
  rejected: number;
  problems: Map<string, number>;
  failures: string[];
  slowest: number;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (hang?)`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Read one case and record its outcome; `maxBytes` bounds the voxel data a read may produce. */
async function runCase(tally: Tally, name: string, read: () => Promise<Volume>, maxBytes: number): Promise<void> {
  const start = performance.now();
  try {
    const v = await withTimeout(read(), CASE_TIMEOUT_MS);
    validateVolume(v);
    assert.equal(v.source, name);
    // Scaled data may be 8 bytes per stored byte (uint8 -> float64 at most).
    if (v.data.byteLength > 8 * maxBytes) throw new Error(`read ${v.data.byteLength} bytes of voxels from ${maxBytes} bytes of file`);
    tally.read++;
  } catch (e) {
    if (e instanceof VolumeFileError && e.file === name && e.message.includes(name)) {
      tally.rejected++;
      const category = e.problem.replace(/-?\d[\d.e+-]*|'[^']*'|\[[^\]]*\]/g, "N").slice(0, 60);
      tally.problems.set(category, (tally.problems.get(category) ?? 0) + 1);
    } else {
      const what = e instanceof Error ? `${e.constructor.name}: ${e.message}` : `thrown ${typeof e}: ${String(e)}`;
      tally.failures.push(`${name}: ${what}`);
    }
  }
  tally.slowest = Math.max(tally.slowest, performance.now() - start);
}

test(`NIfTI fuzz (seed ${SEED}): every case reads validly or throws VolumeFileError naming the file`, { timeout: 180_000 }, async (t) => {
  const r = rng(SEED);
  const bases = baseFiles();
  const tally: Tally = { read: 0, rejected: 0, problems: new Map(), failures: [], slowest: 0 };
  const started = performance.now();
  let cases = 0;

  for (let i = 0; i < MUTATED_CONTENTS; i++) {
    const content = mutate(bases[i % bases.length], r);
    const plainName = `fuzz-${SEED}-${i}.nii`;
    await runCase(tally, plainName, () => decodeNifti(content, plainName), content.length);
    const gzName = `fuzz-${SEED}-${i}.nii.gz`;
    await runCase(tally, gzName, () => decodeNifti(gzipSync(content), gzName), content.length);
    cases += 2;
  }
  for (let i = 0; i < GZIP_DAMAGE; i++) {
    const base = r() < 0.5 ? bases[i % bases.length] : mutate(bases[i % bases.length], r);
    const damaged = damageGzip(gzipSync(base), r);
    const name = `fuzz-${SEED}-gz-${i}.nii.gz`;
    // A damaged stream may still inflate to at most the original content (junk after the end
    // is ignored), so bound by the undamaged size.
    await runCase(tally, name, () => decodeNifti(damaged, name), base.length);
    cases++;
  }
  // A few through the file system, so the path itself is what errors name.
  const dir = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-fuzz-"));
  try {
    for (let i = 0; i < ON_DISK; i++) {
      const content = mutate(bases[i % bases.length], r);
      const file = path.join(dir, `case-${i}.nii${i % 2 ? ".gz" : ""}`);
      writeFileSync(file, i % 2 ? gzipSync(content) : content);
      await runCase(tally, file, () => readNifti(file), content.length);
      cases++;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(`${cases} cases in ${seconds.toFixed(1)} s: ${tally.read} read, ${tally.rejected} rejected, slowest case ${tally.slowest.toFixed(0)} ms`);
  const top = [...tally.problems.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  for (const [problem, n] of top) t.diagnostic(`  ${n} x ${problem}`);
  assert.deepEqual(tally.failures.slice(0, 10), [], `${tally.failures.length} cases failed with the wrong error`);
  assert.equal(tally.read + tally.rejected, cases);
  assert.ok(cases >= 9000, `${cases} cases`);
  // Both outcomes must be common, or the mutations are not exercising the reader.
  assert.ok(tally.read > cases / 20 && tally.rejected > cases / 20, `read ${tally.read}, rejected ${tally.rejected}`);
});
