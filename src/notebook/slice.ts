/**
 * 2D slices of a Volume for display.
 *
 * Orientation: `axialSlice(v, k)[j][i]` is voxel (i, j, k): one row per j, one column per i, the
 * layout of plotly's heatmap `z`. Plotly draws row 0 at the bottom, so the image appears with
 * i increasing to the right and j increasing upward. That is voxel order, not a radiological
 * convention: which patient directions those are depends on the affine, and `sliceAxisCodes`
 * names them (e.g. i -> "L", j -> "P") so figures can label their axes honestly.
 * "Axial" means the third voxel axis (k), as for a short-axis stack; it is a true axial plane
 * only when the affine's k column points S or I.
 */
import { axisCodes } from "../io/orientation.js";
import type { Volume } from "../io/volume.js";

/** Slice k (and frame t of a 4D volume) as rows j of columns i: `out[j][i] = v(i, j, k, t)`. */
export function axialSlice(v: Volume, k: number, t = 0): number[][] {
  const [nx, ny, nz] = v.shape;
  const nt = v.shape[3] ?? 1;
  const where = v.source ?? "<volume>";
  if (!Number.isInteger(k) || k < 0 || k >= nz) throw new Error(`${where}: slice k=${k} is outside 0..${nz - 1}`);
  if (!Number.isInteger(t) || t < 0 || t >= nt) throw new Error(`${where}: frame t=${t} is outside 0..${nt - 1}`);
  const base = nx * ny * (k + nz * t);
  const rows: number[][] = [];
  for (let j = 0; j < ny; j++) {
    const row = new Array<number>(nx);
    for (let i = 0; i < nx; i++) row[i] = v.data[base + i + nx * j];
    rows.push(row);
  }
  return rows;
}

/** The patient directions (R/L, A/P, S/I) that increasing i and j point to, from the affine. */
export function sliceAxisCodes(v: Volume): { i: string; j: string } {
  const codes = axisCodes(v.affine);
  return { i: codes[0], j: codes[1] };
}
