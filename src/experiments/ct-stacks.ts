/**
 * Axial CT on a 2D training grid, without labels deciding where: a square region of interest
 * placed from threshold landmarks (the spine and the body midline, pretext/kidney-side.ts),
 * wide enough for both kidneys, resampled to `size` x `size` pixels of `pixel` mm with slices
 * every `sliceMm` (or the nearest multiple of the scan's spacing), intensities windowed and
 * z-scored per volume as the kidney paper's code does. In world terms i runs along +x (towards
 * the patient's right) and j along -y (row 0 is the most anterior).
 */
import { reslice } from "../geometry/reslice.js";
import type { Volume } from "../io/volume.js";
import { findBodyLandmarks, windowAndStandardize, type BodyLandmarks } from "../pretext/kidney-side.js";
import type { SliceStack } from "./slice-stack.js";

export interface CtGrid {
  size: number;
  pixel: number;
  /** Target slice spacing (mm): slices are taken every round(sliceMm / spacing) of the scan. */
  sliceMm: number;
  /** ROI centre's offset from the spine, anterior (mm): the kidneys lie beside and in front of it. */
  anteriorMm: number;
}

/** The ROI stack of one CT (and its labels, nearest neighbour). */
export function prepareCtStack(subject: string, hu: Volume, labels: Volume<Uint8Array> | undefined, g: CtGrid, landmarks: BodyLandmarks = findBodyLandmarks(hu), standardizedHu: Float32Array = windowAndStandardize(hu.data)): SliceStack {
  const A = hu.affine;
  if ([A[0][2], A[1][2], A[2][0], A[2][1]].some((v) => Math.abs(v) > 1e-6)) throw new Error(`${hu.source ?? subject}: not an axial CT (its affine tilts the slices); the kidney protocol needs axial slices`);
  const step = Math.max(1, Math.round(g.sliceMm / Math.abs(A[2][2])));
  const nz = Math.floor((hu.shape[2] - 1) / step) + 1;
  const half = ((g.size - 1) / 2) * g.pixel;
  const cx = landmarks.midlineX;
  const cy = landmarks.spineY + g.anteriorMm;
  const affine = [
    [g.pixel, 0, 0, cx - half],
    [0, -g.pixel, 0, cy + half],
    [0, 0, A[2][2] * step, A[2][3]],
    [0, 0, 0, 1],
  ];
  const grid = { shape: [g.size, g.size, nz], affine };
  const standardized: Volume = { ...hu, data: standardizedHu };
  // Outside the scan: the window's floor (air), the lowest standardized value.
  const floor = (standardized.data as Float32Array).reduce((m, v) => Math.min(m, v), Infinity);
  const image = reslice(standardized, grid, "linear", floor);
  const stack: SliceStack = { subject, phase: "CT", size: g.size, slices: nz, image: Float32Array.from(image.data), grid: { shape: image.shape, spacing: image.spacing, affine } };
  if (labels) stack.labels = Uint8Array.from(reslice(labels, grid, "nearest").data);
  return stack;
}
