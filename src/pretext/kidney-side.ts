/**
 * The kidney-asymmetry pretext (arXiv 2101.05456; public code abhinavdhere/self-supervised-kits):
 * a siamese network sees two sections, each from one half of an abdominal CT, and learns whether
 * they come from the same side of the body. Left and right differ in anatomy (liver on the right,
 * spleen and stomach on the left, the right kidney lower, aorta left and IVC right of midline), so
 * telling them apart needs a representation of that anatomy.
 *
 * Where the sections come from decides what the task measures:
 * - "label-free": a fixed box in each half, placed from landmarks that thresholds give (the body
 *   outline's and the spine's position), at every axial level: no annotation is used;
 * - "label-crop" (what the authors' code does): each half is multiplied by the ground-truth kidney
 *   mask and cropped to the mask's bounding box, so the input shows one kidney; it uses
 *   annotations, so it is reported as an upper bound, not as self-supervision.
 *
 * Mirroring: the authors do not mirror. Unmirrored, a right-side box has the spine on its medial
 * edge at one image side and a left-side box at the other, so the side can be read from where
 * the spine sits: the task is trivial. Mirrored (the left box flipped so medial is on the same
 * image side for both), only anatomical asymmetry can solve it. Both are settings (`mirror`).
 *
 * Intensities follow the authors: HU windowed to [-79, 304], then z-scored per volume.
 * World coordinates are RAS+ (io/volume.ts): +x points to the patient's right.
 */
import * as tf from "@tensorflow/tfjs";
import { reslice } from "../geometry/reslice.js";
import type { Volume } from "../io/volume.js";
import type { Random } from "../random.js";

export const KIDNEY_HU_WINDOW: [number, number] = [-79, 304];

/** HU clipped to `window`, then z-scored over the whole volume. */
export function windowAndStandardize(hu: ArrayLike<number>, window: [number, number] = KIDNEY_HU_WINDOW): Float32Array {
  const out = new Float32Array(hu.length);
  let sum = 0;
  for (let o = 0; o < hu.length; o++) {
    const v = Math.min(window[1], Math.max(window[0], hu[o]));
    out[o] = v;
    sum += v;
  }
  const mean = sum / hu.length;
  let ss = 0;
  for (let o = 0; o < out.length; o++) ss += (out[o] - mean) ** 2;
  const sd = Math.sqrt(ss / out.length) || 1;
  for (let o = 0; o < out.length; o++) out[o] = (out[o] - mean) / sd;
  return out;
}

/** Where the body's midline and the spine are (world mm), found by thresholds only. */
export interface BodyLandmarks {
  /** World x of the spine's centre: the body's left/right midline. */
  midlineX: number;
  /** World y (anterior +) of the spine's centre. */
  spineY: number;
  /** Bone voxels used (a handful means the landmark is unreliable). */
  spineVoxels: number;
}

export const BODY_HU = -300;
export const BONE_HU = 200;

/**
 * Body: voxels above -300 HU (soft tissue, not air or lung). Spine: bone (above 200 HU) within
 * 40 mm of the body's centre in x and behind it. The spine's median x and y are the landmarks.
 * The volume must be axial (its slices perpendicular to world z), as CT is.
 */
export function findBodyLandmarks(ct: Volume): BodyLandmarks {
  const [nx, ny, nz] = ct.shape;
  const A = ct.affine;
  if (Math.abs(A[2][0]) > 1e-6 || Math.abs(A[2][1]) > 1e-6) throw new Error(`${ct.source ?? "CT volume"}: slices are not axial (the affine tilts i or j along z); kidney sections need an axial CT`);
  const world = (i: number, j: number): [number, number] => [A[0][0] * i + A[0][1] * j, A[1][0] * i + A[1][1] * j];
  let cx = 0;
  let cy = 0;
  let n = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (ct.data[i + nx * (j + ny * k)] <= BODY_HU) continue;
        const [x, y] = world(i, j);
        cx += x + A[0][2] * k + A[0][3];
        cy += y + A[1][2] * k + A[1][3];
        n++;
      }
  if (n === 0) throw new Error(`${ct.source ?? "CT volume"}: no voxel above ${BODY_HU} HU; is it a CT in Hounsfield units?`);
  cx /= n;
  cy /= n;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (ct.data[i + nx * (j + ny * k)] <= BONE_HU) continue;
        const [x0, y0] = world(i, j);
        const x = x0 + A[0][2] * k + A[0][3];
        const y = y0 + A[1][2] * k + A[1][3];
        if (Math.abs(x - cx) < 40 && y < cy) {
          xs.push(x);
          ys.push(y);
        }
      }
  if (xs.length < 10) throw new Error(`${ct.source ?? "CT volume"}: found no spine (${xs.length} voxels above ${BONE_HU} HU within 40 mm of the body's centre, behind it)`);
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return { midlineX: median(xs), spineY: median(ys), spineVoxels: xs.length };
}

export type Side = "right" | "left";

export interface SectionOptions {
  mode: "label-free" | "label-crop";
  /** Flip left-side sections so medial lies on the same image side for both sides. */
  mirror: boolean;
  /** Output sections are cropPx x cropPx. */
  cropPx: number;
  /** label-free: box width (mm), and its centre's offset from the spine: lateral and anterior (mm). */
  boxMm: number;
  lateralMm: number;
  anteriorMm: number;
  /** Axial sections per side (evenly spaced over the volume, or over the kidney for label-crop). */
  sections: number;
}

/** Kidney centre relative to the spine, from anatomy: see the kidney paper's config for sources. */
export const DEFAULT_SECTIONS: SectionOptions = { mode: "label-free", mirror: true, cropPx: 48, boxMm: 110, lateralMm: 75, anteriorMm: 10, sections: 12 };

/** One section: the in-plane box centred at (x, y), width wx, wy (mm), at world z, sampled cropPx^2. */
function sampleBox(image: Volume, centre: [number, number, number], wx: number, wy: number, cropPx: number, flipX: boolean, mode: "linear" | "nearest", fill: number): Float32Array {
  const px = wx / cropPx;
  const py = wy / cropPx;
  const sx = flipX ? -px : px;
  // Pixel (i, j) centre at centre + ((i + 0.5) - cropPx/2) * step.
  const origin = [centre[0] - sx * (cropPx / 2 - 0.5), centre[1] - py * (cropPx / 2 - 0.5), centre[2]];
  const affine = [
    [sx, 0, 0, origin[0]],
    [0, py, 0, origin[1]],
    [0, 0, 1, origin[2]],
    [0, 0, 0, 1],
  ];
  return Float32Array.from(reslice(image, { shape: [cropPx, cropPx, 1], affine }, mode, fill).data);
}

/** World z of every slice centre of an axial volume, ascending. */
function sliceZs(ct: Volume): number[] {
  return Array.from({ length: ct.shape[2] }, (_, k) => ct.affine[2][2] * k + ct.affine[2][3]).sort((a, b) => a - b);
}

const evenly = (lo: number, hi: number, n: number) => Array.from({ length: n }, (_, i) => (n === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (n - 1)));

/**
 * Sections of each half of one CT. `standardized` is the CT's windowed, z-scored values on its
 * grid (windowAndStandardize), `hu` the raw HU (for the landmarks, unless given), `kidneyMask`
 * (label-crop only) a label map on the same grid whose non-zero voxels are kidney (and tumour).
 */
export function kidneySections(hu: Volume, standardized: Float32Array, o: SectionOptions, kidneyMask?: Volume, landmarks: BodyLandmarks = findBodyLandmarks(hu)): Record<Side, Float32Array[]> {
  const image: Volume = { ...hu, data: standardized };
  // Outside the scan: the lowest standardized value (air at the window's floor).
  const fill = standardized.reduce((m, v) => Math.min(m, v), Infinity);
  const out: Record<Side, Float32Array[]> = { right: [], left: [] };
  for (const side of ["right", "left"] as const) {
    // RAS+: the patient's right is +x.
    const sign = side === "right" ? 1 : -1;
    const flip = o.mirror && side === "left";
    if (o.mode === "label-free") {
      const zs = sliceZs(hu);
      for (const z of evenly(zs[0], zs[zs.length - 1], o.sections)) {
        out[side].push(sampleBox(image, [landmarks.midlineX + sign * o.lateralMm, landmarks.spineY + o.anteriorMm, z], o.boxMm, o.boxMm, o.cropPx, flip, "linear", fill));
      }
    } else {
      if (!kidneyMask) throw new Error(`${hu.source ?? "CT volume"}: label-crop sections need the kidney label map`);
      const box = kidneyBox(kidneyMask, landmarks.midlineX, side);
      for (const z of evenly(box.min[2], box.max[2], o.sections)) {
        const centre: [number, number, number] = [(box.min[0] + box.max[0]) / 2, (box.min[1] + box.max[1]) / 2, z];
        const wx = box.max[0] - box.min[0] + 2;
        const wy = box.max[1] - box.min[1] + 2;
        const img = sampleBox(image, centre, wx, wy, o.cropPx, flip, "linear", fill);
        const mask = sampleBox(kidneyMask, centre, wx, wy, o.cropPx, flip, "nearest", 0);
        // The authors multiply the section by the kidney mask: only the kidney is left.
        out[side].push(img.map((v, i) => (mask[i] > 0 ? v : fill)));
      }
    }
  }
  return out;
}

/** World bounding box of the kidney voxels on one side of the midline. */
export function kidneyBox(mask: Volume, midlineX: number, side: Side): { min: [number, number, number]; max: [number, number, number]; voxels: number } {
  const [nx, ny, nz] = mask.shape;
  const A = mask.affine;
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  let voxels = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (mask.data[i + nx * (j + ny * k)] === 0) continue;
        const p = [0, 1, 2].map((r) => A[r][0] * i + A[r][1] * j + A[r][2] * k + A[r][3]);
        if ((side === "right") !== p[0] > midlineX) continue;
        voxels++;
        for (let r = 0; r < 3; r++) {
          min[r] = Math.min(min[r], p[r]);
          max[r] = Math.max(max[r], p[r]);
        }
      }
  if (voxels === 0) throw new Error(`${mask.source ?? "label map"}: no kidney voxel on the patient's ${side} side`);
  return { min, max, voxels };
}

/** Sections of one subject's two halves. */
export type SubjectSections = Record<Side, Float32Array[]>;

/**
 * A batch of pairs drawn from every subject's halves (two sections of one subject may pair, as
 * in the authors' code): about half from the same side (same = 1), half one right and one left.
 */
export function samplePairs(subjects: SubjectSections[], batch: number, cropPx: number, rng: Random): { x1: tf.Tensor4D; x2: tf.Tensor4D; same: tf.Tensor1D } {
  if (subjects.length === 0) throw new Error("no subjects to draw kidney-side pairs from");
  const area = cropPx * cropPx;
  const a = new Float32Array(batch * area);
  const b = new Float32Array(batch * area);
  const same = new Float32Array(batch);
  const draw = (side: Side) => {
    const s = subjects[rng.int(0, subjects.length - 1)][side];
    return s[rng.int(0, s.length - 1)];
  };
  for (let n = 0; n < batch; n++) {
    const isSame = rng.next() < 0.5;
    const first: Side = rng.next() < 0.5 ? "right" : "left";
    const second: Side = isSame ? first : first === "right" ? "left" : "right";
    a.set(draw(first), n * area);
    b.set(draw(second), n * area);
    same[n] = isSame ? 1 : 0;
  }
  return { x1: tf.tensor4d(a, [batch, cropPx, cropPx, 1]), x2: tf.tensor4d(b, [batch, cropPx, cropPx, 1]), same: tf.tensor1d(same) };
}

/** The authors' decision rule: "same side" when the embedding distance is below 0.75. */
export const SAME_SIDE_THRESHOLD = 0.75;
