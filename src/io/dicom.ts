/**
 * DICOM series -> Volume, for uncompressed single-frame grayscale slices (the common MR/CT case).
 *
 * Slices are ordered by the projection of ImagePositionPatient on the slice normal
 * (row cosine x column cosine), never by InstanceNumber, which scanners number in acquisition
 * order. The affine is built in DICOM's LPS+ from ImagePositionPatient, ImageOrientationPatient
 * and PixelSpacing, then turned into our RAS+ by negating x and y. Voxel i runs along a row
 * (to the next column), j down the columns, k along the sorted slices; voxel (0, 0, k) lies on
 * slice k's IPP up to the IPP's own rounding (checked against `positionTolerance`).
 *
 * Data: RescaleSlope/RescaleIntercept are applied. When every slice has slope 1 and intercept 0
 * the stored integer type is kept; otherwise data is Float32Array, as for NIfTI.
 *
 * A cine (several phases per slice position, like Sunnybrook) has duplicate positions:
 * `listDicomPhases` groups the files by position and orders each position's files by
 * TriggerTime, so `readDicomSeries(cine.phases[p].files)` reads one cardiac phase
 * (`readDicomFolder(folder, { phase })` does both).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import * as dicomParser from "dicom-parser";
import { VolumeFileError } from "./errors";
import { Affine, Volume, validateVolume } from "./volume";

/** What we take from one file's header (geometry as stored, in LPS). */
export interface DicomSliceInfo {
  file: string;
  rows: number;
  columns: number;
  /** ImagePositionPatient, LPS mm: centre of the first transmitted pixel. */
  position: number[];
  /** ImageOrientationPatient: row direction cosine then column direction cosine (LPS). */
  orientation: number[];
  /** PixelSpacing: [between rows (along a column), between columns (along a row)] mm. */
  pixelSpacing: number[];
  instanceNumber?: number;
  triggerTime?: number;
  seriesInstanceUID?: string;
  sliceThickness?: number;
  spacingBetweenSlices?: number;
  rescaleSlope: number;
  rescaleIntercept: number;
}

export interface DicomVolume extends Volume {
  dicom: {
    /** The files in slice order: files[k] is slice k. */
    files: string[];
    instanceNumbers: (number | undefined)[];
    triggerTimes: (number | undefined)[];
    seriesInstanceUID?: string;
    /** True when data holds rescaled float values rather than the stored integers. */
    rescaled: boolean;
    /** Set by readDicomFolder: which cine phase this is, out of how many. */
    phase?: { index: number; count: number; triggerTime?: number };
  };
}

export interface ReadDicomOptions {
  /**
   * Largest distance (mm) allowed between a slice's IPP and where the regular grid of the
   * affine puts it; beyond it the series is rejected as non-uniformly spaced. Default 0.05.
   */
  positionTolerance?: number;
}

/** Orientation cosines may differ by this much and still count as the same plane. */
const ORIENTATION_TOLERANCE = 1e-4;
/** Positions closer than this (mm) along the normal are "the same slice position". */
const SAME_POSITION_MM = 0.01;

const TAG = {
  transferSyntax: "x00020010",
  sliceThickness: "x00180050",
  spacingBetweenSlices: "x00180088",
  triggerTime: "x00181060",
  seriesInstanceUID: "x0020000e",
  instanceNumber: "x00200013",
  imagePosition: "x00200032",
  imageOrientation: "x00200037",
  samplesPerPixel: "x00280002",
  numberOfFrames: "x00280008",
  rows: "x00280010",
  columns: "x00280011",
  pixelSpacing: "x00280030",
  bitsAllocated: "x00280100",
  bitsStored: "x00280101",
  pixelRepresentation: "x00280103",
  rescaleIntercept: "x00281052",
  rescaleSlope: "x00281053",
  pixelData: "x7fe00010",
} as const;

const TAG_NAMES: Record<string, string> = {
  [TAG.imagePosition]: "(0020,0032) ImagePositionPatient",
  [TAG.imageOrientation]: "(0020,0037) ImageOrientationPatient",
  [TAG.pixelSpacing]: "(0028,0030) PixelSpacing",
  [TAG.rows]: "(0028,0010) Rows",
  [TAG.columns]: "(0028,0011) Columns",
  [TAG.bitsAllocated]: "(0028,0100) BitsAllocated",
  [TAG.pixelData]: "(7FE0,0010) PixelData",
};

const UNCOMPRESSED_SYNTAXES: Record<string, boolean> = {
  "1.2.840.10008.1.2": true, // implicit VR little endian
  "1.2.840.10008.1.2.1": true, // explicit VR little endian
  "1.2.840.10008.1.2.2": false, // explicit VR big endian (retired, still seen)
};

interface ParsedFile {
  info: DicomSliceInfo;
  dataSet: dicomParser.DataSet;
}

/** Read one DICOM series (one file per slice position) as a volume. */
export async function readDicomSeries(files: string[], options: ReadDicomOptions = {}): Promise<DicomVolume> {
  if (files.length === 0) throw new VolumeFileError("<dicom series>", "no files given");
  const parsed = await Promise.all(files.map((f) => parseFile(f, true)));
  const geometry = seriesGeometry(parsed.map((p) => p.info), options.positionTolerance ?? 0.05);
  const ordered = geometry.order.map((n) => parsed[n]);

  const { rows, columns } = ordered[0].info;
  const perSlice = rows * columns;
  const rescaled = ordered.some((p) => p.info.rescaleSlope !== 1 || p.info.rescaleIntercept !== 0);
  const slices = ordered.map((p) => decodePixels(p, perSlice));
  const mixed = slices.findIndex((s) => s.constructor !== slices[0].constructor);
  if (mixed >= 0)
    throw new VolumeFileError(ordered[mixed].info.file, `pixel format (BitsAllocated/PixelRepresentation) differs from ${ordered[0].info.file}`);
  const Ctor = rescaled ? Float32Array : (slices[0].constructor as new (n: number) => Volume["data"]);
  const data = new Ctor(perSlice * ordered.length);
  ordered.forEach((p, k) => {
    const src = slices[k];
    const { rescaleSlope: s, rescaleIntercept: b } = p.info;
    if (!rescaled) data.set(src, k * perSlice);
    else for (let n = 0; n < perSlice; n++) data[k * perSlice + n] = s * src[n] + b;
  });

  const volume: DicomVolume = {
    data,
    shape: [columns, rows, ordered.length],
    spacing: [ordered[0].info.pixelSpacing[1], ordered[0].info.pixelSpacing[0], geometry.sliceSpacing],
    affine: geometry.affine,
    source: ordered.length === 1 ? ordered[0].info.file : path.dirname(ordered[0].info.file),
    dicom: {
      files: ordered.map((p) => p.info.file),
      instanceNumbers: ordered.map((p) => p.info.instanceNumber),
      triggerTimes: ordered.map((p) => p.info.triggerTime),
      seriesInstanceUID: ordered[0].info.seriesInstanceUID,
      rescaled,
    },
  };
  try {
    validateVolume(volume, volume.source);
  } catch (e) {
    throw new VolumeFileError(volume.source ?? "<dicom series>", (e as Error).message);
  }
  return volume;
}

export interface DicomPhase {
  /** 0-based phase number (rank of the trigger time within each slice position). */
  index: number;
  /** One file per slice position, in no particular order (readDicomSeries sorts them). */
  files: string[];
  /** Mean TriggerTime (ms) over the positions, when every file has one. */
  triggerTime?: number;
}

export interface DicomCine {
  /** Number of distinct slice positions. */
  positions: number;
  phases: DicomPhase[];
}

/**
 * Group a cine series (a folder or a list of files) into phases: files at the same slice
 * position are ordered by TriggerTime (else InstanceNumber, else name); phase p takes the p-th
 * file of every position. Every position must have the same number of files.
 */
export async function listDicomPhases(folderOrFiles: string | string[]): Promise<DicomCine> {
  const label = typeof folderOrFiles === "string" ? folderOrFiles : "<dicom files>";
  const files = typeof folderOrFiles === "string" ? await listDicomFiles(folderOrFiles) : folderOrFiles;
  if (files.length === 0) throw new VolumeFileError(label, "no DICOM files found");
  const infos = (await Promise.all(files.map((f) => parseFile(f, false)))).map((p) => p.info);
  const normal = commonNormal(infos);

  // Cluster by distance along the normal (sorted, so one pass is enough).
  const byDepth = infos.map((info) => ({ info, depth: dot(info.position, normal) })).sort((a, b) => a.depth - b.depth);
  const groups: DicomSliceInfo[][] = [];
  let lastDepth = -Infinity;
  for (const { info, depth } of byDepth) {
    if (depth - lastDepth > SAME_POSITION_MM) groups.push([]);
    groups[groups.length - 1].push(info);
    lastDepth = depth;
  }
  const counts = groups.map((g) => g.length);
  if (counts.some((c) => c !== counts[0]))
    throw new VolumeFileError(label, `slice positions have different numbers of phases (${counts.join(", ")})`);
  const allTimed = infos.every((i) => i.triggerTime !== undefined);
  for (const g of groups) g.sort((a, b) => phaseKey(a, b, allTimed));
  const phases: DicomPhase[] = Array.from({ length: counts[0] }, (_, p) => {
    const members = groups.map((g) => g[p]);
    const triggerTime = allTimed ? members.reduce((s, m) => s + (m.triggerTime ?? 0), 0) / members.length : undefined;
    return { index: p, files: members.map((m) => m.file), triggerTime };
  });
  return { positions: groups.length, phases };
}

/**
 * Read a folder holding one series. A cine folder (several files per slice position) gives one
 * phase: `options.phase`, default 0; `volume.dicom.phase` says which and how many there are.
 */
export async function readDicomFolder(folder: string, options: ReadDicomOptions & { phase?: number } = {}): Promise<DicomVolume> {
  const cine = await listDicomPhases(folder);
  const index = options.phase ?? 0;
  const p = cine.phases[index];
  if (!p) throw new VolumeFileError(folder, `phase ${index} requested, the folder holds ${cine.phases.length} phase(s)`);
  const v = await readDicomSeries(p.files, options);
  v.dicom.phase = { index, count: cine.phases.length, triggerTime: p.triggerTime };
  return v;
}

/** The *.dcm files of a folder (all regular files if none ends in .dcm), in natural name order. */
export async function listDicomFiles(folder: string): Promise<string[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await fs.readdir(folder, { withFileTypes: true });
  } catch (e) {
    throw new VolumeFileError(folder, `cannot list folder: ${(e as Error).message}`, { cause: e });
  }
  const names = entries.filter((e) => e.isFile()).map((e) => e.name);
  const dcm = names.filter((n) => n.toLowerCase().endsWith(".dcm"));
  const chosen = dcm.length > 0 ? dcm : names;
  return chosen.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).map((n) => path.join(folder, n));
}

function phaseKey(a: DicomSliceInfo, b: DicomSliceInfo, byTime: boolean): number {
  if (byTime) return (a.triggerTime ?? 0) - (b.triggerTime ?? 0);
  if (a.instanceNumber !== undefined && b.instanceNumber !== undefined) return a.instanceNumber - b.instanceNumber;
  return a.file.localeCompare(b.file, "en", { numeric: true });
}

// ----------------------------------------------------------------------------------------------
// Geometry

interface SeriesGeometry {
  order: number[];
  affine: Affine;
  sliceSpacing: number;
}

function seriesGeometry(infos: DicomSliceInfo[], tolerance: number): SeriesGeometry {
  const first = infos[0];
  const seriesName = infos.length === 1 ? first.file : path.dirname(first.file);
  for (const info of infos) {
    if (info.rows !== first.rows || info.columns !== first.columns)
      throw new VolumeFileError(info.file, `image size ${info.columns}x${info.rows} differs from ${first.columns}x${first.rows} in ${first.file}`);
    if (info.pixelSpacing.some((s, n) => Math.abs(s - first.pixelSpacing[n]) > 1e-4))
      throw new VolumeFileError(info.file, `PixelSpacing ${info.pixelSpacing} differs from ${first.pixelSpacing} in ${first.file}`);
  }
  const normal = commonNormal(infos);
  const depth = infos.map((i) => dot(i.position, normal));
  const order = infos.map((_, n) => n).sort((a, b) => depth[a] - depth[b]);
  for (let k = 1; k < order.length; k++) {
    const [a, b] = [order[k - 1], order[k]];
    if (depth[b] - depth[a] < SAME_POSITION_MM)
      throw new VolumeFileError(
        infos[b].file,
        `duplicate slice position: same ImagePositionPatient plane as ${infos[a].file} ` +
          `(a cine or multi-echo series? select one phase with listDicomPhases)`,
      );
  }

  const pos = order.map((n) => infos[n].position);
  const n = pos.length;
  // The regular grid (origin + k * step) closest to all IPPs, by least squares per coordinate:
  // IPPs are decimal strings rounded to ~1e-3 mm, so fitting all of them keeps every slice
  // closer than anchoring on the two end slices. A step with an in-plane component (gantry
  // tilt) becomes shear in the affine.
  let origin = pos[0];
  let step: number[];
  if (n > 1) {
    const kMean = (n - 1) / 2;
    const kVar = pos.reduce((acc, _, k) => acc + (k - kMean) ** 2, 0);
    step = [0, 1, 2].map((c) => pos.reduce((acc, p, k) => acc + (k - kMean) * p[c], 0) / kVar);
    origin = [0, 1, 2].map((c) => pos.reduce((acc, p) => acc + p[c], 0) / n - step[c] * kMean);
  } else {
    const thickness = first.spacingBetweenSlices ?? first.sliceThickness ?? 1;
    step = normal.map((x) => x * (thickness > 0 ? thickness : 1));
  }
  // Uniform spacing, checked twice: gaps along the normal (names the slice after an odd gap,
  // e.g. a missing slice), then every IPP against the fitted grid (catches in-plane drift).
  const gaps = order.slice(1).map((b, k) => depth[b] - depth[order[k]]);
  const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
  gaps.forEach((gap, k) => {
    if (Math.abs(gap - median) > tolerance)
      throw new VolumeFileError(
        infos[order[k + 1]].file,
        `slice spacing is not uniform: ${gap.toFixed(3)} mm from ${infos[order[k]].file}, the median gap is ${median.toFixed(3)} mm (missing slice?)`,
      );
  });
  for (let k = 0; k < n; k++) {
    const err = Math.hypot(...[0, 1, 2].map((c) => origin[c] + k * step[c] - pos[k][c]));
    if (err > tolerance)
      throw new VolumeFileError(
        infos[order[k]].file,
        `slice position is ${err.toFixed(3)} mm off the regular grid fitted to ${seriesName} (tolerance ${tolerance} mm)`,
      );
  }

  const [rowCos, colCos] = [first.orientation.slice(0, 3), first.orientation.slice(3, 6)];
  const [dRow, dCol] = first.pixelSpacing; // between rows, between columns
  const lps = [0, 1, 2].map((r) => [rowCos[r] * dCol, colCos[r] * dRow, step[r], origin[r]]);
  // LPS -> RAS: negate x and y (rows 0 and 1), translation included.
  const affine = [lps[0].map((x) => -x), lps[1].map((x) => -x), lps[2], [0, 0, 0, 1]];
  return { order, affine, sliceSpacing: Math.hypot(...step) };
}

/** Slice normal shared by all files; throws naming the first file whose orientation differs. */
function commonNormal(infos: DicomSliceInfo[]): number[] {
  const first = infos[0];
  for (const info of infos) {
    if (info.orientation.some((x, n) => Math.abs(x - first.orientation[n]) > ORIENTATION_TOLERANCE))
      throw new VolumeFileError(
        info.file,
        `mixed orientations: ImageOrientationPatient ${info.orientation.join("\\")} differs from ` +
          `${first.orientation.join("\\")} in ${first.file}`,
      );
  }
  const r = first.orientation.slice(0, 3);
  const c = first.orientation.slice(3, 6);
  return [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]];
}

const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

// ----------------------------------------------------------------------------------------------
// One file

async function parseFile(file: string, withPixels: boolean): Promise<ParsedFile> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new VolumeFileError(file, `cannot read file: ${(e as Error).message}`, { cause: e });
  }
  let dataSet: dicomParser.DataSet;
  try {
    dataSet = dicomParser.parseDicom(bytes, withPixels ? {} : { untilTag: TAG.pixelData });
  } catch (e) {
    throw new VolumeFileError(file, `not a readable DICOM file: ${parserMessage(e)}`, { cause: e });
  }
  return { info: sliceInfo(file, dataSet, withPixels), dataSet };
}

/** dicom-parser throws strings, Errors, or {exception, dataSet} objects. */
function parserMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "object" && e !== null && "exception" in e) return String((e as { exception: unknown }).exception);
  return String(e);
}

function sliceInfo(file: string, ds: dicomParser.DataSet, withPixels: boolean): DicomSliceInfo {
  const need = (tag: string) => {
    if (!ds.elements[tag] || ds.elements[tag].length === 0) throw new VolumeFileError(file, `missing tag ${TAG_NAMES[tag] ?? tag}`);
  };
  const numbers = (tag: string, count: number): number[] => {
    need(tag);
    const text = ds.string(tag) ?? "";
    const values = text.split("\\").map((s) => Number(s.trim()));
    if (values.length !== count || values.some((v) => !Number.isFinite(v)))
      throw new VolumeFileError(file, `tag ${TAG_NAMES[tag] ?? tag} should hold ${count} numbers, got "${text}"`);
    return values;
  };
  const optionalNumber = (tag: string): number | undefined => {
    const s = ds.elements[tag] ? ds.string(tag) : undefined;
    const v = s === undefined || s.trim() === "" ? NaN : Number(s.split("\\")[0]);
    return Number.isFinite(v) ? v : undefined;
  };
  const us = (tag: string): number => {
    need(tag);
    const v = ds.uint16(tag);
    if (v === undefined) throw new VolumeFileError(file, `tag ${TAG_NAMES[tag] ?? tag} is empty`);
    return v;
  };

  const syntax = ds.string(TAG.transferSyntax);
  if (syntax !== undefined && !(syntax in UNCOMPRESSED_SYNTAXES))
    throw new VolumeFileError(file, `unsupported transfer syntax ${syntax} (compressed pixel data is not supported)`);
  const frames = optionalNumber(TAG.numberOfFrames);
  if (frames !== undefined && frames > 1) throw new VolumeFileError(file, `multi-frame DICOM (${frames} frames) is not supported`);
  const samples = ds.elements[TAG.samplesPerPixel] ? ds.uint16(TAG.samplesPerPixel) : 1;
  if (samples !== 1) throw new VolumeFileError(file, `SamplesPerPixel is ${samples}: only grayscale images are supported`);

  const orientation = numbers(TAG.imageOrientation, 6);
  const rowCos = orientation.slice(0, 3);
  const colCos = orientation.slice(3, 6);
  const unit = (v: number[]) => Math.abs(Math.hypot(...v) - 1) < 1e-3;
  if (!unit(rowCos) || !unit(colCos) || Math.abs(dot(rowCos, colCos)) > 1e-3)
    throw new VolumeFileError(file, `ImageOrientationPatient ${orientation.join("\\")} is not two orthogonal unit vectors`);
  const pixelSpacing = numbers(TAG.pixelSpacing, 2);
  if (pixelSpacing.some((s) => s <= 0)) throw new VolumeFileError(file, `PixelSpacing ${pixelSpacing.join("\\")} must be positive`);
  const rows = us(TAG.rows);
  const columns = us(TAG.columns);
  if (rows < 1 || columns < 1) throw new VolumeFileError(file, `image size ${columns}x${rows} is empty`);
  if (withPixels) need(TAG.pixelData);

  return {
    file,
    rows,
    columns,
    position: numbers(TAG.imagePosition, 3),
    orientation,
    pixelSpacing,
    instanceNumber: optionalNumber(TAG.instanceNumber),
    triggerTime: optionalNumber(TAG.triggerTime),
    seriesInstanceUID: ds.string(TAG.seriesInstanceUID),
    sliceThickness: optionalNumber(TAG.sliceThickness),
    spacingBetweenSlices: optionalNumber(TAG.spacingBetweenSlices),
    rescaleSlope: optionalNumber(TAG.rescaleSlope) ?? 1,
    rescaleIntercept: optionalNumber(TAG.rescaleIntercept) ?? 0,
  };
}

type SliceArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** The stored pixel values of one slice, with BitsStored < BitsAllocated masked/sign-extended. */
function decodePixels(p: ParsedFile, count: number): SliceArray {
  const { dataSet: ds, info } = p;
  const file = info.file;
  const el = ds.elements[TAG.pixelData];
  if (el.encapsulatedPixelData) throw new VolumeFileError(file, "encapsulated (compressed) pixel data is not supported");
  const bits = ds.uint16(TAG.bitsAllocated);
  if (bits !== 8 && bits !== 16 && bits !== 32) throw new VolumeFileError(file, `BitsAllocated ${bits} is not supported (8, 16 or 32)`);
  const signed = ds.uint16(TAG.pixelRepresentation) === 1;
  const stored = ds.uint16(TAG.bitsStored) ?? bits;
  const bytes = bits / 8;
  const needed = count * bytes;
  if (el.length < needed || el.dataOffset + needed > ds.byteArray.length)
    throw new VolumeFileError(file, `PixelData holds ${Math.min(el.length, ds.byteArray.length - el.dataOffset)} bytes, ${info.columns}x${info.rows} pixels of ${bits} bits need ${needed}`);
  const syntax = ds.string(TAG.transferSyntax) ?? "1.2.840.10008.1.2";
  const littleEndian = UNCOMPRESSED_SYNTAXES[syntax] ?? true;
  const view = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset + el.dataOffset, needed);
  const out: SliceArray =
    bits === 8 ? (signed ? new Int8Array(count) : new Uint8Array(count))
    : bits === 16 ? (signed ? new Int16Array(count) : new Uint16Array(count))
    : signed ? new Int32Array(count) : new Uint32Array(count);
  const shift = 32 - Math.min(Math.max(stored, 1), bits);
  for (let n = 0; n < count; n++) {
    let v = bits === 8 ? view.getUint8(n) : bits === 16 ? view.getUint16(2 * n, littleEndian) : view.getUint32(4 * n, littleEndian);
    // Keep only the BitsStored low bits; sign-extend them for signed data.
    if (shift > 32 - bits) v = signed ? (v << shift) >> shift : (v << shift) >>> shift;
    else if (signed) v = bits === 32 ? v | 0 : (v << shift) >> shift;
    out[n] = v;
  }
  return out;
}
