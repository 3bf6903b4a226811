/**
 * Abdominal CT on a 3D training grid, for 3D networks (PGL): a cube-ish block of `size` x `size`
 * x `slices` voxels of `pixelMm` x `pixelMm` x `sliceMm`, centred on the body midline, `anteriorMm`
 * in front of the spine (threshold landmarks, no labels) and on the scan's craniocaudal centre;
 * axes as ct-stacks.ts (i towards the patient's right, j from anterior to posterior, k along the
 * scan). Intensities are windowed and z-scored per volume; labels become class indices 1..K in
 * the order of `organs`, found by name through the dataset's label table, so any dataset's
 * numbering (BTCV, MSD, the phantom) lands on the same classes.
 *
 * The result is a SliceStack whose slices are the volume's axial planes, so 3D predictions are
 * scored by the same scoreStack as 2D ones.
 */
import * as tf from "@tensorflow/tfjs";
import { reslice } from "../geometry/reslice.js";
import type { Volume } from "../io/volume.js";
import { findBodyLandmarks, windowAndStandardize } from "../pretext/kidney-side.js";
import type { SliceStack } from "./slice-stack.js";

export interface CtVolumeGrid {
  size: number;
  slices: number;
  pixelMm: number;
  sliceMm: number;
  /** Centre's offset in front of the spine's centre (mm). */
  anteriorMm: number;
}

/** HU window for multi-organ abdominal CT (soft tissue; a common choice for BTCV). */
export const ORGAN_HU_WINDOW: [number, number] = [-175, 250];

/**
 * Mean over a box of `widths` voxels per axis (odd or even; edges average what lies inside):
 * before sampling a volume at a coarser spacing, so each output voxel averages the input voxels
 * it covers instead of picking one (aliasing, and noise no coarser scanner would show).
 */
export function boxSmooth(v: Volume, widths: readonly number[]): Volume {
  let data = Float32Array.from(v.data as ArrayLike<number>);
  const [nx, ny, nz] = v.shape;
  const strides = [1, nx, nx * ny];
  const sizes = [nx, ny, nz];
  for (let axis = 0; axis < 3; axis++) {
    const w = Math.max(1, Math.round(widths[axis]));
    if (w === 1) continue;
    const lo = Math.floor((w - 1) / 2);
    const out = new Float32Array(data.length);
    const n = sizes[axis];
    const s = strides[axis];
    for (let o = 0; o < data.length; o++) {
      const c = Math.floor(o / s) % n;
      let sum = 0;
      let count = 0;
      for (let t = c - lo; t < c - lo + w; t++) {
        if (t < 0 || t >= n) continue;
        sum += data[o + (t - c) * s];
        count++;
      }
      out[o] = sum / count;
    }
    data = out;
  }
  return { ...v, data };
}

/** Labels as classes 1..K of `organs` (by name through `labelNames`), everything else 0. */
export function organClasses(labels: Volume<Uint8Array>, labelNames: Record<number, string>, organs: readonly string[], where: string): Volume<Uint8Array> {
  const lut = new Uint8Array(256);
  const found = new Set<string>();
  for (const [value, name] of Object.entries(labelNames)) {
    const k = organs.indexOf(name);
    if (k >= 0) {
      lut[Number(value)] = k + 1;
      found.add(name);
    }
  }
  const missing = organs.filter((o) => !found.has(o));
  if (missing.length > 0) throw new Error(`${where}: the dataset's labels name no ${missing.join(", ")} (it labels: ${Object.values(labelNames).join(", ") || "nothing"}); choose organs it has with --set organs=...`);
  return { ...labels, data: labels.data.map((v) => lut[v]) };
}

/** The 3D training case of one CT (and its organ classes, nearest neighbour). */
export function prepareCtVolume(subject: string, hu: Volume, classes: Volume<Uint8Array> | undefined, g: CtVolumeGrid): SliceStack {
  const A = hu.affine;
  if ([A[0][2], A[1][2], A[2][0], A[2][1]].some((v) => Math.abs(v) > 1e-6)) throw new Error(`${hu.source ?? subject}: not an axial CT (its affine tilts the slices); the 3D grid needs axial scans`);
  const lm = findBodyLandmarks(hu);
  const [, , nz] = hu.shape;
  const zCentre = A[2][3] + A[2][2] * ((nz - 1) / 2);
  const half = ((g.size - 1) / 2) * g.pixelMm;
  const halfZ = ((g.slices - 1) / 2) * g.sliceMm;
  const affine = [
    [g.pixelMm, 0, 0, lm.midlineX - half],
    [0, -g.pixelMm, 0, lm.spineY + g.anteriorMm + half],
    [0, 0, g.sliceMm, zCentre - halfZ],
    [0, 0, 0, 1],
  ];
  const grid = { shape: [g.size, g.size, g.slices], affine };
  const standardized: Volume = { ...hu, data: windowAndStandardize(hu.data, ORGAN_HU_WINDOW) };
  const spacing = [Math.hypot(A[0][0], A[1][0], A[2][0]), Math.hypot(A[0][1], A[1][1], A[2][1]), Math.abs(A[2][2])];
  const smooth = boxSmooth(standardized, [g.pixelMm / spacing[0], g.pixelMm / spacing[1], g.sliceMm / spacing[2]]);
  // Outside the scan: the window's floor (air), the lowest standardized value.
  const floor = (standardized.data as Float32Array).reduce((m, v) => Math.min(m, v), Infinity);
  const image = reslice(smooth, grid, "linear", floor);
  const stack: SliceStack = { subject, phase: "CT", size: g.size, slices: g.slices, image: Float32Array.from(image.data), grid: { shape: image.shape, spacing: image.spacing, affine } };
  if (classes) stack.labels = Uint8Array.from(reslice(classes, grid, "nearest").data);
  return stack;
}

/** The stack as a Volume (for views and display). */
export const stackVolume = (s: SliceStack): Volume<Float32Array> => ({ data: s.image, shape: s.grid.shape, spacing: s.grid.spacing, affine: s.grid.affine, source: s.subject });

/** Argmax class map of a whole 3D case from a 3D network ([1, slices, size, size, 1] in). */
export function predictVolume(model: tf.LayersModel, s: SliceStack): Uint8Array {
  const labels = tf.tidy(() => (model.predict(tf.tensor5d(s.image, [1, s.slices, s.size, s.size, 1])) as tf.Tensor5D).argMax(-1));
  const out = Uint8Array.from(labels.dataSync());
  labels.dispose();
  return out;
}
