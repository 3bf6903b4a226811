/**
 * NIfTI-1 single-file (.nii, .nii.gz) reading and writing.
 *
 * Reading: we check the header ourselves first (size, magic, dims, datatype, vox_offset against
 * the real byte count) so garbage never reaches an allocation or nifti-reader-js, then let
 * nifti-reader-js parse the header fields, and compute the affine ourselves because the
 * library's precedence differs from the standard (it prefers the qform whenever qform_code >
 * sform_code) and it skips the srow_* fields in that case.
 *
 * Data scaling: `data` holds physical values. When the header's scaling is the identity
 * (scl_slope 0, non-finite, or 1 with scl_inter 0) the stored array type is kept, so label maps
 * and unscaled images stay integer typed. Otherwise data = scl_slope * stored + scl_inter as a
 * Float32Array (Float64Array when stored as float64, int32 or uint32, which float32 cannot hold
 * exactly). `readNifti(path, { raw: true })` returns the stored values untouched instead; the
 * scaling is always reported in `volume.nifti` and `scaleVoxels` applies it.
 *
 * Geometry follows the NIfTI-1 standard (nifti1.h, and nifti1_io.c where the text is vague):
 * sform_code > 0 -> srow_*; else qform_code > 0 -> quaternion + pixdim + qfac; else
 * diag(pixdim[1..3]) ("method 1"; nibabel differs here: it centres and flips x like Analyze).
 * Spatial units in metres or microns are converted to mm, time in ms or us to seconds.
 */
import { promises as fs } from "node:fs";
import { endianness } from "node:os";
import * as zlib from "node:zlib";
import { VolumeFileError, describeThrown, rethrowAsFileError } from "./errors";
import { Affine, Volume, VoxelArray, affineDeterminant, affineSpacing, validateVolume, voxelCount } from "./volume";

export type NiftiDataType = "uint8" | "int8" | "int16" | "uint16" | "int32" | "uint32" | "float32" | "float64";

type TypedArrayCtor = {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): VoxelArray;
  new (length: number): VoxelArray;
  readonly BYTES_PER_ELEMENT: number;
};

interface DataTypeInfo {
  name: NiftiDataType;
  code: number;
  ctor: TypedArrayCtor;
  get: (view: DataView, offset: number, littleEndian: boolean) => number;
  set: (view: DataView, offset: number, value: number) => void;
}

const DATATYPES: DataTypeInfo[] = [
  { name: "uint8", code: 2, ctor: Uint8Array, get: (v, o) => v.getUint8(o), set: (v, o, x) => v.setUint8(o, x) },
  { name: "int16", code: 4, ctor: Int16Array, get: (v, o, le) => v.getInt16(o, le), set: (v, o, x) => v.setInt16(o, x, true) },
  { name: "int32", code: 8, ctor: Int32Array, get: (v, o, le) => v.getInt32(o, le), set: (v, o, x) => v.setInt32(o, x, true) },
  { name: "float32", code: 16, ctor: Float32Array, get: (v, o, le) => v.getFloat32(o, le), set: (v, o, x) => v.setFloat32(o, x, true) },
  { name: "float64", code: 64, ctor: Float64Array, get: (v, o, le) => v.getFloat64(o, le), set: (v, o, x) => v.setFloat64(o, x, true) },
  { name: "int8", code: 256, ctor: Int8Array, get: (v, o) => v.getInt8(o), set: (v, o, x) => v.setInt8(o, x) },
  { name: "uint16", code: 512, ctor: Uint16Array, get: (v, o, le) => v.getUint16(o, le), set: (v, o, x) => v.setUint16(o, x, true) },
  { name: "uint32", code: 768, ctor: Uint32Array, get: (v, o, le) => v.getUint32(o, le), set: (v, o, x) => v.setUint32(o, x, true) },
];

/** Codes the standard defines that we do not read, named so the error message is useful. */
const UNSUPPORTED_DATATYPES: Record<number, string> = {
  1: "binary (1 bit)", 32: "complex64", 128: "rgb24", 1024: "int64", 1280: "uint64",
  1536: "float128", 1792: "complex128", 2048: "complex256", 2304: "rgba32",
};

const HEADER_SIZE = 348;
/** Header + the 4 extension-flag bytes: where a .nii's voxels start when there are no extensions. */
const MIN_NII_OFFSET = 352;
const HOST_LITTLE_ENDIAN = endianness() === "LE";

export interface NiftiInfo {
  datatype: NiftiDataType;
  /** Scaling stored in the file: physical = sclSlope * stored + sclInter (slope 0/NaN: none). */
  sclSlope: number;
  sclInter: number;
  /** True when `data` holds scaled values in a float array instead of the stored values. */
  scaled: boolean;
  /** Which header transform produced `affine`. */
  affineFrom: "sform" | "qform" | "pixdim";
  sformCode: number;
  qformCode: number;
  /** The sform / qform as affines (mm, RAS+) when their code is > 0, else null. */
  sform: Affine | null;
  qform: Affine | null;
  littleEndian: boolean;
  compressed: boolean;
  description: string;
  intentCode: number;
  /** Raw xyzt_units byte (affine and spacing are already converted to mm and seconds). */
  xyztUnits: number;
  /**
   * Header extensions (bytes 352 .. vox_offset when the extension flag is set), in file order:
   * the extension code (e.g. 0 unknown, 2 DICOM, 4 AFNI, 6 comment, 30 CIFTI) and its content
   * bytes without the 8-byte size/code prefix and without trailing zero padding. TotalSegmentator stores its label names here
   * as XML (io/caret-labels.ts parses them). Not written back by writeNifti.
   */
  extensions: NiftiExtension[];
}

export interface NiftiExtension {
  code: number;
  data: Uint8Array;
}

export interface NiftiVolume extends Volume {
  nifti: NiftiInfo;
}

export interface ReadNiftiOptions {
  /** Return the stored values untouched (scaling only reported in `nifti`). Default false. */
  raw?: boolean;
}

// nifti-reader-js is ESM-only; a real dynamic import() (kept as-is by TypeScript for module
// node16) loads it from this CommonJS package. The specifier is a variable and the types are
// declared here because TypeScript 5.0 (the compiler tslab installs as `tsc`) cannot resolve
// an import-only package's types from a CommonJS file. Cached so the module loads once.
/** The fields of nifti-reader-js's NIFTI1 header that we read. */
interface Nifti1Fields {
  littleEndian: boolean;
  pixDims: number[];
  scl_slope: number;
  scl_inter: number;
  xyzt_units: number;
  intent_code: number;
  description: string;
  qform_code: number;
  sform_code: number;
  quatern_b: number;
  quatern_c: number;
  quatern_d: number;
  qoffset_x: number;
  qoffset_y: number;
  qoffset_z: number;
  readHeader(data: ArrayBuffer): void;
}
interface NiftiReaderModule {
  NIFTI1: new () => Nifti1Fields;
}
const NIFTI_READER = "nifti-reader-js";
let readerModule: Promise<NiftiReaderModule> | undefined;
function loadNiftiReader(): Promise<NiftiReaderModule> {
  readerModule ??= import(NIFTI_READER) as Promise<NiftiReaderModule>;
  return readerModule;
}

/** Read a .nii or .nii.gz file (gzip is detected from the bytes, not the name). */
export async function readNifti(path: string, options: ReadNiftiOptions = {}): Promise<NiftiVolume> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    throw new VolumeFileError(path, `cannot read file: ${describeThrown(e)}`, { cause: e });
  }
  return decodeNifti(bytes, path, options);
}

/**
 * Decode NIfTI-1 bytes already in memory (plain or gzip). `name` stands for the file in error
 * messages and in `source`.
 */
export async function decodeNifti(bytes: Uint8Array, name: string, options: ReadNiftiOptions = {}): Promise<NiftiVolume> {
  const compressed = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const content = compressed
    ? await gunzipBounded(bytes, name)
    : { chunks: [bytes], total: bytes.length };
  const layout = checkHeader(firstBytes(content.chunks, HEADER_SIZE), content.total, name);
  const mod = await loadNiftiReader();
  const hdr = rethrowAsFileError(name, "nifti-reader-js could not parse the header", () => {
    const h = new mod.NIFTI1();
    // Exactly the 348 header bytes: the library then skips extensions, whose parser can loop
    // on garbage sizes; we do not need them.
    h.readHeader(copyRange(content.chunks, 0, HEADER_SIZE));
    return h;
  });
  if (hdr.littleEndian !== layout.littleEndian) throw new VolumeFileError(name, "byte order is ambiguous (sizeof_hdr)");

  const units = unitScales(hdr.xyzt_units);
  const headerView = new DataView(copyRange(content.chunks, 0, HEADER_SIZE));
  const sform = hdr.sform_code > 0 ? scaleAffine(sformFromHeader(headerView, layout.littleEndian), units.space) : null;
  const qform = hdr.qform_code > 0 ? scaleAffine(qformFromHeader(hdr), units.space) : null;
  let affine: Affine;
  let affineFrom: NiftiInfo["affineFrom"];
  if (sform) [affine, affineFrom] = [sform, "sform"];
  else if (qform) [affine, affineFrom] = [qform, "qform"];
  else [affine, affineFrom] = [scaleAffine(pixdimAffine(hdr.pixDims), units.space), "pixdim"];
  checkAffine(affine, affineFrom, name);

  const dt = layout.datatype;
  const stored = decodeVoxels(content.chunks, layout.voxOffset, layout.count, dt, layout.littleEndian);
  const { slope, inter } = effectiveScaling(hdr.scl_slope, hdr.scl_inter);
  const scale = !options.raw && !(slope === 1 && inter === 0);
  const data = scale ? scaleVoxels(stored, slope, inter) : stored;

  const spacing = affineSpacing(affine);
  if (layout.shape.length === 4) {
    const dt4 = hdr.pixDims[4] * units.time;
    spacing.push(Number.isFinite(dt4) && dt4 > 0 ? dt4 : 1);
  }
  const volume: NiftiVolume = {
    data,
    shape: layout.shape,
    spacing,
    affine,
    source: name,
    nifti: {
      datatype: dt.name,
      sclSlope: hdr.scl_slope,
      sclInter: hdr.scl_inter,
      scaled: scale,
      affineFrom,
      sformCode: hdr.sform_code,
      qformCode: hdr.qform_code,
      sform,
      qform,
      littleEndian: layout.littleEndian,
      compressed,
      description: hdr.description,
      intentCode: hdr.intent_code,
      xyztUnits: hdr.xyzt_units,
      extensions: readExtensions(content.chunks, layout, name),
    },
  };
  rethrowAsFileError(name, "invalid volume", () => validateVolume(volume, name));
  return volume;
}

/** Apply NIfTI scaling to stored values (float64 result for types float32 cannot hold exactly). */
export function scaleVoxels(stored: VoxelArray, slope: number, inter: number): Float32Array | Float64Array {
  const wide = stored instanceof Float64Array || stored instanceof Int32Array || stored instanceof Uint32Array;
  const out = wide ? new Float64Array(stored.length) : new Float32Array(stored.length);
  for (let n = 0; n < stored.length; n++) out[n] = slope * stored[n] + inter;
  return out;
}

/** The scaling a reader must apply: slope 0 or non-finite means none (nifti1.h, nifti1_io.c). */
export function effectiveScaling(sclSlope: number, sclInter: number): { slope: number; inter: number } {
  if (!Number.isFinite(sclSlope) || sclSlope === 0) return { slope: 1, inter: 0 };
  return { slope: sclSlope, inter: Number.isFinite(sclInter) ? sclInter : 0 };
}

/**
 * The extensions between the header and the voxels (nifti1.h: a 4-byte flag at 348, extension[0]
 * non-zero means extensions follow, each `esize` bytes long (a multiple of 16, including its
 * 8-byte prefix) with an `ecode`). Sizes are checked against vox_offset before any copy.
 */
function readExtensions(chunks: readonly Uint8Array[], layout: Layout, name: string): NiftiExtension[] {
  if (layout.voxOffset < MIN_NII_OFFSET + 8) return [];
  const region = new Uint8Array(copyRange(chunks, HEADER_SIZE, layout.voxOffset - HEADER_SIZE));
  if (region[0] === 0) return [];
  const view = new DataView(region.buffer);
  const out: NiftiExtension[] = [];
  let pos = 4;
  while (pos + 8 <= region.length) {
    const esize = view.getInt32(pos, layout.littleEndian);
    const code = view.getInt32(pos + 4, layout.littleEndian);
    // Zero padding after the last extension is common (vox_offset rounded up): stop there.
    if (esize === 0 && code === 0) break;
    if (esize < 8 || pos + esize > region.length)
      throw new VolumeFileError(name, `header extension at byte ${HEADER_SIZE + pos} has size ${esize}, which does not fit before vox_offset ${layout.voxOffset}`);
    // The standard records no unpadded length, so trailing zeros are taken as padding and
    // dropped (as nibabel does).
    let end = pos + esize;
    while (end > pos + 8 && region[end - 1] === 0) end--;
    out.push({ code, data: region.slice(pos + 8, end) });
    pos += esize;
  }
  return out;
}

interface Layout {
  littleEndian: boolean;
  shape: number[];
  count: number;
  datatype: DataTypeInfo;
  voxOffset: number;
}

/**
 * Structural header checks done before anything is allocated from header values: every size we
 * later use is proven to fit in `total`, the real (decompressed) byte count.
 */
function checkHeader(head: Uint8Array, total: number, name: string): Layout {
  if (total < HEADER_SIZE) throw new VolumeFileError(name, `file is truncated: ${total} bytes, a NIfTI-1 header needs ${HEADER_SIZE}`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let littleEndian = true;
  const sizeLE = view.getInt32(0, true);
  if (sizeLE !== HEADER_SIZE) {
    littleEndian = false;
    const sizeBE = view.getInt32(0, false);
    if (sizeBE !== HEADER_SIZE) {
      if (sizeLE === 540 || sizeBE === 540) throw new VolumeFileError(name, "NIfTI-2 files are not supported (sizeof_hdr = 540)");
      throw new VolumeFileError(name, `not a NIfTI-1 file: sizeof_hdr is ${sizeLE}, expected 348`);
    }
  }
  const magic = head.subarray(344, 348);
  if (magic[0] === 0x6e && magic[1] === 0x69 && magic[2] === 0x31 && magic[3] === 0)
    throw new VolumeFileError(name, "this is the header of a .hdr/.img pair (magic 'ni1'); only single-file .nii is supported");
  if (!(magic[0] === 0x6e && magic[1] === 0x2b && magic[2] === 0x31 && magic[3] === 0)) {
    const shown = Array.from(magic, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("");
    throw new VolumeFileError(name, `wrong magic '${shown}', expected 'n+1\\0'`);
  }

  const dim = Array.from({ length: 8 }, (_, d) => view.getInt16(40 + 2 * d, littleEndian));
  const ndim = dim[0];
  if (ndim < 1 || ndim > 7) throw new VolumeFileError(name, `dim[0] = ${ndim}: the number of dimensions must be 1..7`);
  for (let d = 1; d <= ndim; d++) {
    if (dim[d] < 1) throw new VolumeFileError(name, `dim[${d}] = ${dim[d]}: dimension sizes must be >= 1 (dims [${dim.slice(1, ndim + 1)}])`);
  }
  for (let d = 5; d <= ndim; d++) {
    if (dim[d] !== 1) throw new VolumeFileError(name, `dims [${dim.slice(1, ndim + 1)}]: 5D and higher images are not supported`);
  }
  const kept = Math.min(ndim, 4);
  const shape = Array.from({ length: Math.max(3, kept) }, (_, d) => (d < kept ? dim[d + 1] : 1));

  const code = view.getInt16(70, littleEndian);
  const datatype = DATATYPES.find((t) => t.code === code);
  if (!datatype) {
    const known = UNSUPPORTED_DATATYPES[code];
    throw new VolumeFileError(name, known ? `unsupported datatype ${code} (${known})` : `unknown datatype code ${code}`);
  }

  const voxOffset = view.getFloat32(108, littleEndian);
  if (!Number.isInteger(voxOffset) || voxOffset < HEADER_SIZE)
    throw new VolumeFileError(name, `vox_offset = ${voxOffset}: must be a whole number >= ${HEADER_SIZE}`);
  const count = voxelCount(shape);
  const needed = voxOffset + count * datatype.ctor.BYTES_PER_ELEMENT;
  if (needed > total)
    throw new VolumeFileError(
      name,
      `dims [${shape}] of ${datatype.name} at vox_offset ${voxOffset} need ${needed} bytes, but the ` +
        `file holds only ${total} bytes: truncated file or wrong dims`,
    );
  return { littleEndian, shape, count, datatype, voxOffset };
}

/**
 * Inflate a gzip stream without trusting anything in it: output is kept only up to what the
 * header says the image needs (the rest is counted, so the true size is known), and the whole
 * stream is still inflated so a bad CRC or a truncation is reported.
 */
function gunzipBounded(compressed: Uint8Array, name: string): Promise<{ chunks: Uint8Array[]; total: number }> {
  return new Promise((resolve, reject) => {
    const z = zlib.createGunzip();
    const chunks: Uint8Array[] = [];
    let kept = 0;
    let total = 0;
    let limit = Infinity;
    let settled = false;
    const fail = (e: VolumeFileError) => {
      if (settled) return;
      settled = true;
      z.destroy();
      reject(e);
    };
    z.on("data", (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (kept < limit) {
        const take = Math.min(chunk.length, limit - kept);
        chunks.push(take === chunk.length ? chunk : chunk.subarray(0, take));
        kept += take;
      }
      if (limit === Infinity && kept >= HEADER_SIZE) {
        // Structural checks against "infinitely many bytes" catch everything but the size;
        // then keep only the bytes the image occupies.
        try {
          const layout = checkHeader(firstBytes(chunks, HEADER_SIZE), Number.MAX_SAFE_INTEGER, name);
          limit = Math.max(layout.voxOffset + layout.count * layout.datatype.ctor.BYTES_PER_ELEMENT, HEADER_SIZE);
        } catch (e) {
          fail(e instanceof VolumeFileError ? e : new VolumeFileError(name, describeThrown(e)));
        }
      }
    });
    z.on("error", (e: NodeJS.ErrnoException) => {
      const truncated = e.code === "Z_BUF_ERROR" || /unexpected end/i.test(e.message);
      fail(new VolumeFileError(name, truncated ? "gzip data is truncated (unexpected end of stream)" : `corrupt gzip data (${e.message})`, { cause: e }));
    });
    z.on("end", () => {
      if (settled) return;
      settled = true;
      resolve({ chunks, total });
    });
    z.end(compressed);
  });
}

/** Copy of bytes [start, start + length) of the chunked content, as a fresh (aligned) buffer. */
function copyRange(chunks: readonly Uint8Array[], start: number, length: number): ArrayBuffer {
  const out = new Uint8Array(length);
  let pos = 0;
  let written = 0;
  for (const c of chunks) {
    if (written === length) break;
    const end = pos + c.length;
    if (end > start) {
      const from = Math.max(0, start + written - pos);
      const take = Math.min(c.length - from, length - written);
      out.set(c.subarray(from, from + take), written);
      written += take;
    }
    pos = end;
  }
  return out.buffer;
}

function firstBytes(chunks: readonly Uint8Array[], n: number): Uint8Array {
  if (chunks.length > 0 && chunks[0].length >= n) return chunks[0].subarray(0, n);
  const have = chunks.reduce((a, c) => a + c.length, 0);
  return new Uint8Array(copyRange(chunks, 0, Math.min(n, have)));
}

function decodeVoxels(chunks: readonly Uint8Array[], offset: number, count: number, dt: DataTypeInfo, littleEndian: boolean): VoxelArray {
  const size = dt.ctor.BYTES_PER_ELEMENT;
  const buffer = copyRange(chunks, offset, count * size);
  if (littleEndian === HOST_LITTLE_ENDIAN || size === 1) return new dt.ctor(buffer);
  // Byte-swapped file: read each value with the file's byte order.
  const view = new DataView(buffer);
  const out = new dt.ctor(count);
  for (let n = 0; n < count; n++) out[n] = dt.get(view, n * size, littleEndian);
  return out;
}

function sformFromHeader(view: DataView, littleEndian: boolean): Affine {
  const rows = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => view.getFloat32(280 + 4 * (4 * r + c), littleEndian)));
  return [...rows, [0, 0, 0, 1]];
}

/** Pixdim as the reference implementation uses it for the qform: non-positive or bad -> 1. */
const positiveOr1 = (x: number) => (Number.isFinite(x) && x > 0 ? x : 1);

function qformFromHeader(h: Nifti1Fields): Affine {
  let [b, c, d] = [h.quatern_b, h.quatern_c, h.quatern_d];
  const norm2 = b * b + c * c + d * d;
  let a: number;
  if (1 - norm2 < 1e-7) {
    // |(b,c,d)| ~ 1: a 180-degree rotation; renormalise as nifti1_io.c does.
    const s = 1 / Math.sqrt(norm2);
    [a, b, c, d] = [0, b * s, c * s, d * s];
  } else {
    a = Math.sqrt(1 - norm2);
  }
  const rot = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const qfac = h.pixDims[0] < 0 ? -1 : 1;
  const scale = [positiveOr1(h.pixDims[1]), positiveOr1(h.pixDims[2]), qfac * positiveOr1(h.pixDims[3])];
  const offset = [h.qoffset_x, h.qoffset_y, h.qoffset_z];
  return [
    ...[0, 1, 2].map((r) => [rot[r][0] * scale[0], rot[r][1] * scale[1], rot[r][2] * scale[2], offset[r]]),
    [0, 0, 0, 1],
  ];
}

/** "Method 1" of nifti1.h: no orientation, just voxel sizes (zero or bad pixdim -> 1). */
function pixdimAffine(pixdim: number[]): Affine {
  const p = [1, 2, 3].map((d) => (Number.isFinite(pixdim[d]) && pixdim[d] !== 0 ? pixdim[d] : 1));
  return [
    [p[0], 0, 0, 0],
    [0, p[1], 0, 0],
    [0, 0, p[2], 0],
    [0, 0, 0, 1],
  ];
}

function checkAffine(affine: Affine, from: string, name: string): void {
  if (affine.flat().some((x) => !Number.isFinite(x))) throw new VolumeFileError(name, `the ${from} affine has non-finite entries`);
  const det = affineDeterminant(affine);
  if (!Number.isFinite(det) || det === 0) throw new VolumeFileError(name, `the ${from} affine is singular`);
}

function unitScales(xyztUnits: number): { space: number; time: number } {
  const spaceScale: Record<number, number> = { 1: 1000, 3: 0.001 }; // metre, micron -> mm
  const timeScale: Record<number, number> = { 16: 0.001, 24: 1e-6 }; // ms, us -> s
  const space = spaceScale[xyztUnits & 0x07] ?? 1;
  const time = timeScale[xyztUnits & 0x38] ?? 1;
  return { space, time };
}

function scaleAffine(a: Affine, s: number): Affine {
  if (s === 1) return a;
  return a.map((row, r) => (r < 3 ? row.map((x) => x * s) : row));
}

// ----------------------------------------------------------------------------------------------
// Writing

export interface WriteNiftiOptions {
  /** gzip the file; default: the path ends with ".gz". */
  compress?: boolean;
  /** Stored type; default: the type of `v.data`. Integer targets round and must fit. */
  datatype?: NiftiDataType;
  /**
   * `v.data` holds physical values; store (value - inter) / slope and write scl_slope/scl_inter
   * so readers recover them. Default: no scaling (scl_slope 1, scl_inter 0).
   */
  scaling?: { slope: number; inter: number };
  /** Default: the codes of a volume read by readNifti when > 0, else 1 (scanner anatomical). */
  sformCode?: number;
  qformCode?: number;
  description?: string;
  intentCode?: number;
}

/**
 * Write a volume as NIfTI-1 (little-endian, vox_offset 352, units mm and seconds). Both the sform
 * (the affine, float32) and the qform (the affine as rotation + voxel sizes + qfac) are written.
 * They agree exactly unless the affine has shear, which a qform cannot hold: then the qform
 * carries the nearest rotation (polar decomposition) and the sform stays exact.
 */
export async function writeNifti(path: string, v: Volume, options: WriteNiftiOptions = {}): Promise<void> {
  const bytes = encodeNifti(v, path, options);
  const compress = options.compress ?? path.endsWith(".gz");
  const out = compress ? await gzipAsync(bytes) : bytes;
  try {
    await fs.writeFile(path, out);
  } catch (e) {
    throw new VolumeFileError(path, `cannot write file: ${describeThrown(e)}`, { cause: e });
  }
}

function gzipAsync(bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => zlib.gzip(bytes, (e, out) => (e ? reject(e) : resolve(out))));
}

/** The uncompressed .nii bytes of a volume; `name` is used in error messages. */
export function encodeNifti(v: Volume, name: string, options: WriteNiftiOptions = {}): Uint8Array {
  rethrowAsFileError(name, "cannot write an invalid volume", () => validateVolume(v, name));
  if (v.shape.some((n) => n > 32767)) throw new VolumeFileError(name, `shape [${v.shape}] exceeds the NIfTI-1 limit of 32767 per axis`);
  const dtName = options.datatype ?? arrayDataType(v.data);
  const dt = DATATYPES.find((t) => t.name === dtName);
  if (!dt) throw new VolumeFileError(name, `cannot write datatype ${dtName}`);
  const scaling = options.scaling;
  if (scaling && (!Number.isFinite(scaling.slope) || scaling.slope === 0 || !Number.isFinite(scaling.inter)))
    throw new VolumeFileError(name, `invalid scaling slope ${scaling.slope} inter ${scaling.inter}`);
  const prior = (v as Partial<NiftiVolume>).nifti;
  const sformCode = options.sformCode ?? (prior && prior.sformCode > 0 ? prior.sformCode : 1);
  const qformCode = options.qformCode ?? (prior && prior.qformCode > 0 ? prior.qformCode : 1);

  const size = dt.ctor.BYTES_PER_ELEMENT;
  const out = new Uint8Array(MIN_NII_OFFSET + v.data.length * size);
  const h = new DataView(out.buffer);
  h.setInt32(0, HEADER_SIZE, true);
  out[38] = 0x72; // "regular" = 'r', as Analyze readers expect
  h.setInt16(40, v.shape.length, true);
  for (let d = 0; d < 7; d++) h.setInt16(42 + 2 * d, v.shape[d] ?? 1, true);
  h.setInt16(68, options.intentCode ?? 0, true);
  h.setInt16(70, dt.code, true);
  h.setInt16(72, 8 * size, true);

  const q = affineToQform(v.affine);
  const pixdim = [q.qfac, ...q.voxelSize, v.shape.length === 4 ? (v.spacing[3] ?? 1) : 1, 1, 1, 1];
  pixdim.forEach((p, d) => h.setFloat32(76 + 4 * d, p, true));
  h.setFloat32(108, MIN_NII_OFFSET, true);
  h.setFloat32(112, scaling ? scaling.slope : 1, true);
  h.setFloat32(116, scaling ? scaling.inter : 0, true);
  out[123] = 2 | 8; // xyzt_units: mm, seconds
  const descrip = new TextEncoder().encode((options.description ?? "anatomy-ssl").replace(/[^\x20-\x7e]/g, "?")).subarray(0, 79);
  out.set(descrip, 148);
  h.setInt16(252, qformCode, true);
  h.setInt16(254, sformCode, true);
  q.quaternion.forEach((x, n) => h.setFloat32(256 + 4 * n, x, true));
  q.offset.forEach((x, n) => h.setFloat32(268 + 4 * n, x, true));
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) h.setFloat32(280 + 4 * (4 * r + c), v.affine[r][c], true);
  out.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0"
  // bytes 348..351 stay 0: no extensions

  encodeVoxels(v.data, dt, scaling, out.subarray(MIN_NII_OFFSET), name);
  return out;
}

function arrayDataType(data: VoxelArray): NiftiDataType {
  const t = DATATYPES.find((d) => data instanceof d.ctor);
  if (!t) throw new Error("unreachable: unknown voxel array type");
  return t.name;
}

const INTEGER_RANGE: Partial<Record<NiftiDataType, [number, number]>> = {
  uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
};

function encodeVoxels(data: VoxelArray, dt: DataTypeInfo, scaling: WriteNiftiOptions["scaling"], target: Uint8Array, name: string): void {
  const size = dt.ctor.BYTES_PER_ELEMENT;
  // Fast path: same type, no scaling, host order is the file order (little-endian).
  if (!scaling && data instanceof dt.ctor && HOST_LITTLE_ENDIAN) {
    target.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return;
  }
  const range = INTEGER_RANGE[dt.name];
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  for (let n = 0; n < data.length; n++) {
    let x = scaling ? (data[n] - scaling.inter) / scaling.slope : data[n];
    if (range) {
      x = Math.round(x);
      if (!(x >= range[0] && x <= range[1]))
        throw new VolumeFileError(name, `voxel ${n} (value ${data[n]}) does not fit ${dt.name}${scaling ? " after scaling" : ""}`);
    }
    dt.set(view, n * size, x);
  }
}

/**
 * The qform fields for an affine: voxel sizes (column norms), the quaternion (b, c, d) of the
 * nearest proper rotation, qfac = -1 when the axes are left-handed (third axis flipped), and
 * the offset. Exported for tests and for geometry code that wants to know what a qform keeps.
 */
export function affineToQform(affine: Affine): { quaternion: [number, number, number]; qfac: 1 | -1; voxelSize: number[]; offset: number[] } {
  const voxelSize = affineSpacing(affine);
  // Direction cosines, columns normalised.
  let m = [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r][c] / voxelSize[c]));
  let qfac: 1 | -1 = 1;
  if (det3(m) < 0) {
    qfac = -1;
    m = m.map((row) => [row[0], row[1], -row[2]]);
  }
  const r = nearestRotation(m);
  return { quaternion: rotationToQuaternion(r), qfac, voxelSize, offset: [affine[0][3], affine[1][3], affine[2][3]] };
}

function det3(m: number[][]): number {
  return affineDeterminant(m);
}

/** Polar decomposition by Newton iteration X <- (X + X^-T) / 2: the orthogonal factor of m. */
function nearestRotation(m: number[][]): number[][] {
  let x = m.map((row) => row.slice());
  for (let it = 0; it < 100; it++) {
    const invT = inverseTranspose3(x);
    const next = x.map((row, i) => row.map((v, j) => 0.5 * (v + invT[i][j])));
    const change = Math.max(...next.flat().map((v, k) => Math.abs(v - x.flat()[k])));
    x = next;
    if (change < 1e-15) break;
  }
  return x;
}

function inverseTranspose3(m: number[][]): number[][] {
  const det = det3(m);
  // The cofactor matrix divided by det is the inverse transposed.
  const cof = (r: number, c: number) => {
    const rows = [0, 1, 2].filter((i) => i !== r);
    const cols = [0, 1, 2].filter((j) => j !== c);
    const minor = m[rows[0]][cols[0]] * m[rows[1]][cols[1]] - m[rows[0]][cols[1]] * m[rows[1]][cols[0]];
    return ((r + c) % 2 === 0 ? 1 : -1) * minor;
  };
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => cof(r, c) / det));
}

/** Unit quaternion (b, c, d) with a >= 0 of a proper rotation matrix. */
function rotationToQuaternion(r: number[][]): [number, number, number] {
  let a: number, b: number, c: number, d: number;
  const trace = r[0][0] + r[1][1] + r[2][2];
  // Pick the numerically largest component first to avoid dividing by a tiny number.
  if (trace > 0) {
    a = 0.5 * Math.sqrt(1 + trace);
    b = (r[2][1] - r[1][2]) / (4 * a);
    c = (r[0][2] - r[2][0]) / (4 * a);
    d = (r[1][0] - r[0][1]) / (4 * a);
  } else if (r[0][0] >= r[1][1] && r[0][0] >= r[2][2]) {
    b = 0.5 * Math.sqrt(1 + r[0][0] - r[1][1] - r[2][2]);
    a = (r[2][1] - r[1][2]) / (4 * b);
    c = (r[0][1] + r[1][0]) / (4 * b);
    d = (r[0][2] + r[2][0]) / (4 * b);
  } else if (r[1][1] >= r[2][2]) {
    c = 0.5 * Math.sqrt(1 - r[0][0] + r[1][1] - r[2][2]);
    a = (r[0][2] - r[2][0]) / (4 * c);
    b = (r[0][1] + r[1][0]) / (4 * c);
    d = (r[1][2] + r[2][1]) / (4 * c);
  } else {
    d = 0.5 * Math.sqrt(1 - r[0][0] - r[1][1] + r[2][2]);
    a = (r[1][0] - r[0][1]) / (4 * d);
    b = (r[0][2] + r[2][0]) / (4 * d);
    c = (r[1][2] + r[2][1]) / (4 * d);
  }
  // q and -q are the same rotation; NIfTI stores the one with a >= 0 (a is not stored).
  return a < 0 ? [-b, -c, -d] : [b, c, d];
}
