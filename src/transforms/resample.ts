/**
 * Bringing a short-axis stack onto the training grid: the same slice planes, square pixels of a
 * chosen size, a fixed matrix centred on the stack's centre (or a given point). Real scans
 * (1.25-1.8 mm pixels, 192-512 matrices) and phantoms end up on one grid.
 */
import { applyToPoint, column } from "../geometry/affine.js";
import { reslice } from "../geometry/reslice.js";
import { add, normalize, scale, sub, type Vec3 } from "../geometry/vec.js";
import type { Volume } from "../io/volume.js";

export interface InPlaneGrid {
  /** Output matrix (pixels per side). */
  size: number;
  /** Output pixel size (mm). */
  pixel: number;
}

/**
 * Reslice every slice of `v` onto a size x size grid of `pixel` mm, same slice planes, centred
 * on `centre` (world mm; default: the centre of the volume). Images use linear interpolation,
 * label maps nearest.
 */
export function resampleInPlane(v: Volume, grid: InPlaneGrid, mode: "linear" | "nearest", centre?: Vec3): Volume {
  const [nx, ny, nz] = v.shape;
  const u = normalize(column(v.affine, 0));
  const w = normalize(column(v.affine, 1));
  const c = centre ?? applyToPoint(v.affine, [(nx - 1) / 2, (ny - 1) / 2, 0]);
  // Keep the centre's position along the stack at slice 0's plane: only move in-plane.
  const slice0 = applyToPoint(v.affine, [0, 0, 0]);
  const n = normalize(column(v.affine, 2));
  const inPlaneCentre = sub(c, scale(n, (c[0] - slice0[0]) * n[0] + (c[1] - slice0[1]) * n[1] + (c[2] - slice0[2]) * n[2]));
  const half = ((grid.size - 1) / 2) * grid.pixel;
  const origin = sub(inPlaneCentre, add(scale(u, half), scale(w, half)));
  const affine = [
    [u[0] * grid.pixel, w[0] * grid.pixel, v.affine[0][2], origin[0]],
    [u[1] * grid.pixel, w[1] * grid.pixel, v.affine[1][2], origin[1]],
    [u[2] * grid.pixel, w[2] * grid.pixel, v.affine[2][2], origin[2]],
    [0, 0, 0, 1],
  ];
  return reslice(v, { shape: [grid.size, grid.size, nz], affine }, mode);
}
