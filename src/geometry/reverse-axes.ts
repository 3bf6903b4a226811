/**
 * Reverse the voxel axis order of a 3D volume: voxel (i, j, k) of the input becomes voxel
 * (k, j, i) of the output. Geometry is unchanged: the affine's first and third columns swap, so
 * every voxel keeps its world position. Used for files that store the slice index first
 * (KiTS19's (z, y, x) NIfTI files), so the library's volumes have x fastest and whole slices
 * contiguous in memory. Applying it twice gives the input back.
 */
import type { Volume, VoxelArray } from "../io/volume.js";

export function reverseAxes<T extends VoxelArray>(v: Volume<T>): Volume<T> {
  if (v.shape.length !== 3) throw new Error(`reverseAxes: needs a 3D volume, got shape [${v.shape}]${v.source ? ` (${v.source})` : ""}`);
  const [ni, nj, nk] = v.shape;
  const src = v.data;
  const out = new (src.constructor as new (n: number) => T)(src.length);
  const sliceIn = ni * nj;
  // Output order (k fastest within each j row, then j, then i): writes are sequential; reads
  // stride by ni * nj, the cheaper side to scatter.
  let o = 0;
  for (let i = 0; i < ni; i++)
    for (let j = 0; j < nj; j++) {
      const row = i + ni * j;
      for (let k = 0; k < nk; k++) out[o++] = src[row + sliceIn * k];
    }
  return {
    data: out,
    shape: [nk, nj, ni],
    spacing: [v.spacing[2], v.spacing[1], v.spacing[0]],
    affine: v.affine.map((r) => [r[2], r[1], r[0], r[3]]),
    source: v.source,
  };
}
