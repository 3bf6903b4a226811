/**
 * Sunnybrook Cardiac Data (MICCAI 2009 LV segmentation challenge): short-axis DICOM cines with
 * manual LV contours.
 *
 * Layout (as redistributed in kwu93/image-segmentation, the copy our tests use):
 *   link.csv                                   patient_id,original_id  (SCD0000101,SC-HF-I-1)
 *   dicoms/SCD0000101/N.dcm                    N = InstanceNumber (original name IM-0001-NNNN.dcm
 *                                              is accepted too)
 *   contourfiles/SC-HF-I-1/i-contours/IM-0001-NNNN-icontour-manual.txt   LV endocardium
 *   contourfiles/SC-HF-I-1/o-contours/IM-0001-NNNN-ocontour-manual.txt   LV epicardium
 * A contour file IM-0001-NNNN belongs to image NNNN (N.dcm with N = NNNN). Subject ids are the
 * SCD ids; link.csv may also sit in contourfiles/.
 *
 * Phases are found from the DICOM tags, not from file numbers: `listDicomPhases` groups the cine
 * by slice position (ImagePositionPatient) and orders each position by TriggerTime; a contour's
 * phase is the rank of its image. ED is the phase that has epicardial contours (annotators drew
 * the epicardium at ED only), ES the other phase with endocardial contours. (In SCD0000101 this
 * gives ED = phase 18 of 0..19 and ES = phase 7: ED is not the first frame.)
 *
 * Masks: label 1 (LV blood pool) = inside the endocardium; label 2 (myocardium) = inside the
 * epicardium but not the endocardium, only on slices with both contours. Papillary muscles lie
 * inside the endocardial contour and so count as blood pool, as in ACDC and M&Ms. Only contoured
 * slices are annotated (`labelledSlices`), and ES has no myocardium (`annotatedLabels` = [1]).
 *
 * CONTOUR COORDINATES: x = column (DICOM pixel index along a row, our i), y = row (our j), in
 * pixels, with integers at pixel CORNERS: pixel (i, j) has its centre at (i + 0.5, j + 0.5).
 * Checked on the two sample subjects (test/datasets-sunnybrook.test.ts):
 * - x/y order: with x = column the contours lie on the blood-pool edge (edge contrast across the
 *   contour ~80-120 grey levels); swapped they miss it (~-15..40), and the blood pool inside is
 *   more than 1.5x brighter than the myocardial ring on every ED slice. An overlay at 12x zoom
 *   shows the contour on the edge.
 * - offset: fitting "steepest edge = contour + translation + radial offset" along the contour
 *   normals (dithered to cancel pixel-grid snapping) puts pixel i's centre at contour coordinate
 *   i + (0.72, 0.58) for SC-HF-I-1 and i + (0.87, 0.48) for SC-HF-I-2. "Integers at centres"
 *   (0) is clearly wrong; of the simple conventions, corners (0.5) is the nearest (mean 0.67),
 *   though 1-based centres (1) cannot be excluded for x alone. The residual is sub-pixel.
 * The rasterisation rule (pixel centre inside the polygon) is in polygon.ts.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { listDicomPhases, readDicomSeries, type DicomCine } from "../io/dicom";
import { VolumeFileError, describeThrown } from "../io/errors";
import type { Volume, VoxelArray } from "../io/volume";
import { firstExisting } from "./labels";
import { fillPolygon, type Point } from "./polygon";
import { LABEL, PHASES, type CardiacDataset, type LabelledImage, type LoadOptions, type Phase, type SubjectData, type ViewName } from "./types";

/** Where pixel (i, j)'s centre is in contour coordinates: (i + 0.5, j + 0.5). See above. */
export const SUNNYBROOK_CONTOUR_CENTRE = 0.5;

export type ContourKind = "i" | "o";

export interface SunnybrookContour {
  kind: ContourKind;
  /** Image number NNNN from the file name. */
  image: number;
  file: string;
  points: Point[];
  /** The DICOM file the contour was drawn on. */
  dicom: string;
  /** Cine phase (0-based, TriggerTime order) of that DICOM file. */
  phase: number;
}

/** "IM-0001-0048-icontour-manual.txt" -> { series: 1, image: 48, kind: "i" }. */
export function parseContourName(name: string): { series: number; image: number; kind: ContourKind } | undefined {
  const m = /^IM-(\d+)-(\d+)-([io])contour-manual\.txt$/.exec(name);
  return m ? { series: Number(m[1]), image: Number(m[2]), kind: m[3] as ContourKind } : undefined;
}

/** Contour text: one "x y" pair per line. */
export function parseContourText(text: string, file: string): Point[] {
  const points: Point[] = [];
  text.split(/\r?\n/).forEach((line, n) => {
    if (line.trim() === "") return;
    const parts = line.trim().split(/\s+/).map(Number);
    if (parts.length !== 2 || !parts.every(Number.isFinite))
      throw new VolumeFileError(file, `line ${n + 1} is not an "x y" pair of numbers: ${JSON.stringify(line)}`);
    points.push([parts[0], parts[1]]);
  });
  if (points.length < 3) throw new VolumeFileError(file, `a contour needs at least 3 points, found ${points.length}`);
  return points;
}

/** link.csv: a header naming patient_id and original_id columns, then one subject per line. */
export function parseLinkCsv(text: string, file: string): Map<string, string> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new VolumeFileError(file, "empty link file");
  const header = lines[0].split(",").map((s) => s.trim());
  const [pi, oi] = [header.indexOf("patient_id"), header.indexOf("original_id")];
  if (pi < 0 || oi < 0) throw new VolumeFileError(file, `header must name patient_id and original_id columns, got "${lines[0]}"`);
  const out = new Map<string, string>();
  lines.slice(1).forEach((line, n) => {
    const cells = line.split(",").map((s) => s.trim());
    if (!cells[pi] || !cells[oi]) throw new VolumeFileError(file, `line ${n + 2} lacks patient_id or original_id: "${line}"`);
    if (out.has(cells[pi])) throw new VolumeFileError(file, `line ${n + 2}: ${cells[pi]} is listed twice`);
    out.set(cells[pi], cells[oi]);
  });
  return out;
}

export interface SunnybrookOptions {
  /** Folder of per-subject DICOM folders, relative to root; default "dicoms". */
  dicomDir?: string;
  /** Folder of per-subject contour folders, relative to root; default "contourfiles". */
  contourDir?: string;
  /** The link file; default root/link.csv, else contourDir/link.csv. */
  linkFile?: string;
}

export class SunnybrookDataset implements CardiacDataset {
  readonly name: string = "sunnybrook";
  private readonly dicomDir: string;
  private readonly contourDir: string;
  private links?: Promise<Map<string, string>>;

  constructor(readonly root: string, private readonly options: SunnybrookOptions = {}) {
    this.dicomDir = path.join(root, options.dicomDir ?? "dicoms");
    this.contourDir = path.join(root, options.contourDir ?? "contourfiles");
  }

  /** Subjects listed in the link file whose DICOM folder exists. */
  async listSubjects(): Promise<string[]> {
    const ids: string[] = [];
    for (const id of (await this.linkMap()).keys()) if (await isDirectory(path.join(this.dicomDir, id))) ids.push(id);
    return ids.sort();
  }

  /** The contour folder name (original id, "SC-HF-I-1") of a subject. */
  async contourId(id: string): Promise<string> {
    const cid = (await this.linkMap()).get(id);
    if (!cid) throw new VolumeFileError(this.root, `subject ${id} is not in the link file`);
    return cid;
  }

  /** The DICOM folder of a subject; checks the subject is linked and present. */
  async subjectFolder(id: string): Promise<string> {
    await this.contourId(id);
    const folder = path.join(this.dicomDir, id);
    if (!(await isDirectory(folder))) throw new VolumeFileError(folder, `missing: subject ${id} is in the link file but has no DICOM folder`);
    return folder;
  }

  /** Every i/o contour of a subject, with its DICOM file and cine phase. */
  async contours(id: string, cine?: DicomCine): Promise<SunnybrookContour[]> {
    const folder = await this.subjectFolder(id);
    cine ??= await listDicomPhases(folder);
    const phaseOf = new Map<string, number>();
    for (const p of cine.phases) for (const f of p.files) phaseOf.set(path.resolve(f), p.index);
    const base = path.join(this.contourDir, await this.contourId(id));
    const out: SunnybrookContour[] = [];
    for (const kind of ["i", "o"] as const) {
      const dir = path.join(base, `${kind}-contours`);
      if (!(await isDirectory(dir))) {
        if (kind === "i") throw new VolumeFileError(dir, `missing: subject ${id} has no endocardial contour folder`);
        continue;
      }
      for (const name of (await fs.readdir(dir)).sort()) {
        const parsed = parseContourName(name);
        if (!parsed || parsed.kind !== kind) continue;
        const file = path.join(dir, name);
        const nnnn = String(parsed.image).padStart(4, "0");
        const series = String(parsed.series).padStart(4, "0");
        const dicom = await firstExisting([path.join(folder, `${parsed.image}.dcm`), path.join(folder, `IM-${series}-${nnnn}.dcm`)]);
        if (!dicom) throw new VolumeFileError(file, `its image is missing: expected ${path.join(folder, `${parsed.image}.dcm`)}`);
        const phase = phaseOf.get(path.resolve(dicom));
        if (phase === undefined) throw new VolumeFileError(file, `its image ${dicom} is not part of the cine in ${folder}`);
        out.push({ kind, image: parsed.image, file, points: parseContourText(await readText(file), file), dicom, phase });
      }
    }
    return out;
  }

  async loadSubject(id: string, options: LoadOptions = {}): Promise<SubjectData> {
    const folder = await this.subjectFolder(id);
    const bad = (options.views ?? ["SA"]).find((v) => v !== "SA");
    if (bad) throw new VolumeFileError(folder, `Sunnybrook has short-axis images only, no ${bad} view`);
    const cine = await listDicomPhases(folder);
    const contours = await this.contours(id, cine);
    const warnings: string[] = [];

    const epi = contours.filter((c) => c.kind === "o");
    if (epi.length === 0)
      throw new VolumeFileError(path.join(this.contourDir, await this.contourId(id), "o-contours"), "no epicardial contours: cannot tell which phase is ED");
    const edPhase = mostCommon(epi.map((c) => c.phase));
    const esCandidates = contours.filter((c) => c.kind === "i" && c.phase !== edPhase).map((c) => c.phase);
    const esPhase = esCandidates.length > 0 ? mostCommon(esCandidates) : undefined;
    const phaseIndex: Record<Phase, number | undefined> = { ED: edPhase, ES: esPhase };
    // Any contour on a third phase is reported and left out: a contour belongs to one image.
    for (const c of contours)
      if (c.phase !== edPhase && c.phase !== esPhase) warnings.push(`${c.file}: drawn on cine phase ${c.phase}, neither ED (${edPhase}) nor ES (${esPhase}); skipped`);

    const out: SubjectData = {
      dataset: this.name,
      id,
      views: {},
      info: { folder, contourId: await this.contourId(id), phases: cine.phases.length, slicePositions: cine.positions, edPhase },
      warnings,
    };
    if (esPhase !== undefined) out.info.esPhase = esPhase;
    for (const phase of options.phases ?? PHASES) {
      const p = phaseIndex[phase];
      if (p === undefined) throw new VolumeFileError(path.join(this.contourDir, await this.contourId(id), "i-contours"), `no endocardial contours on a phase other than ED: no ES`);
      const loaded = await this.loadPhase(cine, p, contours.filter((c) => c.phase === p), options.labels !== false, warnings);
      const t = cine.phases[p].triggerTime;
      if (t !== undefined) out.info[`${phase.toLowerCase()}TriggerTimeMs`] = t;
      out.info[`${phase.toLowerCase()}Slices`] = loaded.labelledSlices ?? [];
      (out.views.SA ??= {})[phase] = loaded;
    }
    return out;
  }

  /** All phases stacked as [nx, ny, nz, nt]; spacing[3] is the mean TriggerTime step (s). */
  async loadCine(id: string, view: ViewName = "SA"): Promise<Volume> {
    const folder = await this.subjectFolder(id);
    if (view !== "SA") throw new VolumeFileError(folder, `Sunnybrook has short-axis images only, no ${view} cine`);
    const cine = await listDicomPhases(folder);
    const frames = [];
    for (const p of cine.phases) frames.push(await readDicomSeries(p.files));
    const first = frames[0];
    const per = first.data.length;
    const data = new (first.data.constructor as new (n: number) => VoxelArray)(per * frames.length);
    frames.forEach((f, t) => {
      if (f.data.constructor !== first.data.constructor || f.data.length !== per)
        throw new VolumeFileError(f.source ?? folder, `phase ${t} differs in size or pixel type from phase 0`);
      data.set(f.data, t * per);
    });
    const times = cine.phases.map((p) => p.triggerTime);
    const dt = times.every((t) => t !== undefined) && times.length > 1 ? ((times[times.length - 1]! - times[0]!) / (times.length - 1)) / 1000 : 1;
    return { data, shape: [...first.shape, frames.length], spacing: [...first.spacing, dt], affine: first.affine, source: folder };
  }

  private async loadPhase(cine: DicomCine, p: number, contours: SunnybrookContour[], withLabels: boolean, warnings: string[]): Promise<LabelledImage> {
    const image = await readDicomSeries(cine.phases[p].files);
    if (!withLabels) return { image };
    const [nx, ny, nz] = image.shape;
    const labels = new Uint8Array(nx * ny * nz);
    const sliceOf = new Map(image.dicom.files.map((f, k) => [path.resolve(f), k] as const));
    const endo = new Map<number, SunnybrookContour>();
    const epi = new Map<number, SunnybrookContour>();
    for (const c of contours) {
      const k = sliceOf.get(path.resolve(c.dicom));
      if (k === undefined) throw new VolumeFileError(c.file, `its image ${c.dicom} is not in phase ${p}`);
      const bad = c.points.find(([x, y]) => !(x >= -1 && x <= nx + 1 && y >= -1 && y <= ny + 1));
      if (bad) throw new VolumeFileError(c.file, `point (${bad[0]}, ${bad[1]}) lies outside the ${nx}x${ny} image`);
      const seen = (c.kind === "i" ? endo : epi).get(k);
      if (seen) throw new VolumeFileError(c.file, `slice ${k} already has a contour of this kind: ${seen.file}`);
      (c.kind === "i" ? endo : epi).set(k, c);
    }
    for (const [k, c] of epi) {
      // Myocardium = epicardium minus endocardium: without the endocardium it is unknown.
      if (!endo.has(k)) {
        warnings.push(`${c.file}: epicardium without endocardium on slice ${k}; skipped`);
        continue;
      }
      fillPolygon(labels.subarray(k * nx * ny, (k + 1) * nx * ny), nx, ny, c.points, LABEL.myocardium, SUNNYBROOK_CONTOUR_CENTRE);
    }
    for (const [k, c] of endo) fillPolygon(labels.subarray(k * nx * ny, (k + 1) * nx * ny), nx, ny, c.points, LABEL.lv, SUNNYBROOK_CONTOUR_CENTRE);
    const usedEpi = [...epi.keys()].filter((k) => endo.has(k));
    if (usedEpi.length > 0) {
      const noEpi = [...endo.keys()].filter((k) => !epi.has(k)).sort((a, b) => a - b);
      if (noEpi.length > 0) warnings.push(`phase ${p}: slices ${noEpi.join(", ")} have an endocardium but no epicardium: myocardium not annotated there`);
    }
    return {
      image,
      labels: { data: labels, shape: [nx, ny, nz], spacing: image.spacing.slice(0, 3), affine: image.affine.map((r) => r.slice()), source: `${image.source} (contours)` },
      labelledSlices: [...endo.keys()].sort((a, b) => a - b),
      annotatedLabels: usedEpi.length > 0 ? [LABEL.lv, LABEL.myocardium] : [LABEL.lv],
    };
  }

  private linkMap(): Promise<Map<string, string>> {
    this.links ??= (async () => {
      const candidates = this.options.linkFile ? [path.resolve(this.root, this.options.linkFile)] : [path.join(this.root, "link.csv"), path.join(this.contourDir, "link.csv")];
      const file = await firstExisting(candidates);
      if (!file) throw new VolumeFileError(candidates[0], "missing: the link file maps DICOM subject ids to contour folders");
      return parseLinkCsv(await readText(file), file);
    })();
    return this.links;
  }
}

function mostCommon(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  // Ties go to the smaller value so the choice is deterministic.
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
}

async function readText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (e) {
    throw new VolumeFileError(file, `cannot read: ${describeThrown(e)}`, { cause: e });
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
