/**
 * Sampling the anatomy on an axial grid with partial volume: the mean HU over each voxel (a
 * pixel square times the slice thickness) and the label at each voxel centre.
 *
 * Exact supersampling everywhere would cost 12 anatomy samples per voxel, so samples go where
 * the image can change:
 * - in-plane, a pixel is supersampled 2 x 2 only when a 4-neighbour in the slice's centre plane
 *   differs by more than EDGE_HU (partial volume between soft tissues a few HU apart is
 *   invisible under CT noise);
 * - through the slice, the off-centre sub-slices are sampled only where the centre planes of the
 *   slices above or below differ by more than EDGE_HU (supersampled in-plane where this slice or
 *   the neighbour on that side has an edge); elsewhere the centre plane stands for the whole
 *   slab. A structure thinner than the slice spacing that neither neighbouring centre plane
 *   touches is missed by this (at 3 mm slices the thinnest, ribs and endplates, are not).
 * Against full 2 x 2 x 3 supersampling of every voxel (default grid, seeds 1-3): mean absolute
 * difference 0.3 HU, 0.3% of voxels off by more than 20 HU, most of them in the stool's gas
 * mottling; 1.7 times faster.
 */
import type { AbdomenAnatomy } from "./anatomy.js";
import { TISSUE_LABEL } from "./tissues.js";

/** HU step between neighbouring samples above which partial volume is computed. */
export const EDGE_HU = 20;

export interface RenderGrid {
  n: number;
  nz: number;
  /** World x of column 0, y of row 0, z of slice 0; pixel and slice steps (mm). */
  x0: number;
  y0: number;
  z0: number;
  pixelMm: number;
  sliceMm: number;
  /** Sub-slices per slice (odd). */
  throughSamples: number;
}

export function renderAbdomen(anatomy: AbdomenAnatomy, hu: Float32Array, g: RenderGrid): { values: Float32Array; labels: Uint8Array } {
  const { n, nz, throughSamples: S } = g;
  const np = n * n;
  // Pixel centres and the four 2 x 2 sub-pixel positions, prepared once for every plane.
  const grid = (dx: number, dy: number) => {
    const xs = new Float64Array(np);
    const ys = new Float64Array(np);
    for (let j = 0, p = 0; j < n; j++)
      for (let i = 0; i < n; i++, p++) {
        xs[p] = g.x0 + (i + dx) * g.pixelMm;
        ys[p] = g.y0 + (j + dy) * g.pixelMm;
      }
    return anatomy.points(xs, ys);
  };
  const centres = grid(0, 0);
  const quarters = [grid(-0.25, -0.25), grid(0.25, -0.25), grid(-0.25, 0.25), grid(0.25, 0.25)];
  const zOf = (k: number, t: number) => g.z0 + k * g.sliceMm + ((t + 0.5) / S - 0.5) * g.sliceMm;

  // Centre planes: tissue codes (kept for the through-slice test), labels, and which pixels are
  // in-plane edges.
  const codes = new Uint8Array(np * nz);
  const edges = new Uint8Array(np * nz);
  const labels = new Uint8Array(np * nz);
  const values = new Float32Array(np * nz);
  const centre = (S - 1) / 2;
  for (let k = 0; k < nz; k++) {
    const classify = anatomy.plane(zOf(k, centre));
    const off = k * np;
    for (let p = 0; p < np; p++) codes[off + p] = classify(centres, p);
    for (let j = 0, p = 0; j < n; j++)
      for (let i = 0; i < n; i++, p++) {
        const c = codes[off + p];
        labels[off + p] = TISSUE_LABEL[c];
        const h = hu[c];
        const edge =
          (i > 0 && Math.abs(hu[codes[off + p - 1]] - h) > EDGE_HU) ||
          (i < n - 1 && Math.abs(hu[codes[off + p + 1]] - h) > EDGE_HU) ||
          (j > 0 && Math.abs(hu[codes[off + p - n]] - h) > EDGE_HU) ||
          (j < n - 1 && Math.abs(hu[codes[off + p + n]] - h) > EDGE_HU);
        edges[off + p] = edge ? 1 : 0;
        values[off + p] = edge ? quarterMean(classify, quarters, hu, p) : h;
      }
  }
  if (S === 1) return { values, labels };

  // Off-centre sub-slices where the tissue changes along z.
  const changes = new Uint8Array(np);
  for (let k = 0; k < nz; k++) {
    const off = k * np;
    let any = false;
    for (let p = 0; p < np; p++) {
      const h = hu[codes[off + p]];
      const below = k > 0 && Math.abs(hu[codes[off - np + p]] - h) > EDGE_HU;
      const above = k < nz - 1 && Math.abs(hu[codes[off + np + p]] - h) > EDGE_HU;
      changes[p] = below || above ? 1 : 0;
      any ||= below || above;
    }
    if (!any) continue;
    const sums = new Float32Array(np);
    for (let t = 0; t < S; t++) {
      if (t === centre) continue;
      const classify = anatomy.plane(zOf(k, t));
      for (let p = 0; p < np; p++) {
        if (!changes[p]) continue;
        // An in-plane edge of this slice or of the next one towards the sub-slice.
        const edge = edges[off + p] || (t < centre ? k > 0 && edges[off - np + p] : k < nz - 1 && edges[off + np + p]);
        sums[p] += edge ? quarterMean(classify, quarters, hu, p) : hu[classify(centres, p)];
      }
    }
    for (let p = 0; p < np; p++) if (changes[p]) values[off + p] = (values[off + p] + sums[p]) / S;
  }
  return { values, labels };
}

function quarterMean(classify: ReturnType<AbdomenAnatomy["plane"]>, quarters: ReturnType<AbdomenAnatomy["points"]>[], hu: Float32Array, p: number): number {
  return (hu[classify(quarters[0], p)] + hu[classify(quarters[1], p)] + hu[classify(quarters[2], p)] + hu[classify(quarters[3], p)]) / 4;
}
