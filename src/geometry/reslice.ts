/**
 * Resampling a volume onto another grid (any orientation): how a phantom is "imaged" on a view
 * plane and how views are brought into a common frame. Trilinear for images, nearest for labels.
 */
import { affineSpacing, voxelCount, type Affine, type Volume, type VoxelArray } from "../io/volume.js";
import { invertAffine, matmul } from "./affine.js";

export interface Grid {
  /** [nx, ny, nz]; a single plane is [nx, ny, 1]. */
  shape: number[];
  affine: Affine;
}

export type Interpolation = "linear" | "nearest";

/**
 * Sample `src` at every voxel centre of `grid`. Points outside the source get `fill`.
 * Labels must use "nearest" (interpolating label values invents classes); the output keeps the
 * source's array type for "nearest" and is Float32 for "linear".
 */
export function reslice(src: Volume, grid: Grid, mode: Interpolation, fill = 0): Volume {
  if (src.shape.length !== 3 && !(src.shape.length === 4 && src.shape[3] === 1)) {
    throw new Error(`${src.source ?? "volume"}: reslice needs a 3D volume, got shape [${src.shape}]`);
  }
  const [sx, sy, sz] = src.shape;
  const [nx, ny, nz] = grid.shape;
  // Target voxel -> source voxel, as one affine.
  const m = matmul(invertAffine(src.affine), grid.affine);
  const Ctor = (mode === "nearest" ? src.data.constructor : Float32Array) as new (n: number) => VoxelArray;
  const out = new Ctor(voxelCount([nx, ny, nz]));
  const d = src.data;
  const sxy = sx * sy;
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      // Source coordinates at i = 0; stepping i adds column 0 of m.
      let x = m[0][1] * j + m[0][2] * k + m[0][3];
      let y = m[1][1] * j + m[1][2] * k + m[1][3];
      let z = m[2][1] * j + m[2][2] * k + m[2][3];
      for (let i = 0; i < nx; i++, o++, x += m[0][0], y += m[1][0], z += m[2][0]) {
        if (mode === "nearest") {
          const xi = Math.round(x);
          const yi = Math.round(y);
          const zi = Math.round(z);
          out[o] = xi >= 0 && yi >= 0 && zi >= 0 && xi < sx && yi < sy && zi < sz ? d[xi + sx * yi + sxy * zi] : fill;
          continue;
        }
        // Trilinear, inside the hull [0, n-1] of voxel centres on every axis.
        // Degenerate axes (size 1) are sampled at index 0 when the point is within 0.5 of it.
        const x0 = sx === 1 ? 0 : Math.floor(x);
        const y0 = sy === 1 ? 0 : Math.floor(y);
        const z0 = sz === 1 ? 0 : Math.floor(z);
        const inX = sx === 1 ? Math.abs(x) <= 0.5 : x >= 0 && x <= sx - 1;
        const inY = sy === 1 ? Math.abs(y) <= 0.5 : y >= 0 && y <= sy - 1;
        const inZ = sz === 1 ? Math.abs(z) <= 0.5 : z >= 0 && z <= sz - 1;
        if (!(inX && inY && inZ)) {
          out[o] = fill;
          continue;
        }
        const fx = sx === 1 ? 0 : x - x0;
        const fy = sy === 1 ? 0 : y - y0;
        const fz = sz === 1 ? 0 : z - z0;
        const x1 = Math.min(x0 + 1, sx - 1);
        const y1 = Math.min(y0 + 1, sy - 1);
        const z1 = Math.min(z0 + 1, sz - 1);
        const a = d[x0 + sx * y0 + sxy * z0] * (1 - fx) + d[x1 + sx * y0 + sxy * z0] * fx;
        const b = d[x0 + sx * y1 + sxy * z0] * (1 - fx) + d[x1 + sx * y1 + sxy * z0] * fx;
        const c = d[x0 + sx * y0 + sxy * z1] * (1 - fx) + d[x1 + sx * y0 + sxy * z1] * fx;
        const e = d[x0 + sx * y1 + sxy * z1] * (1 - fx) + d[x1 + sx * y1 + sxy * z1] * fx;
        out[o] = (a * (1 - fy) + b * fy) * (1 - fz) + (c * (1 - fy) + e * fy) * fz;
      }
    }
  }
  return {
    data: out,
    shape: [nx, ny, nz],
    spacing: affineSpacing(grid.affine),
    affine: grid.affine.map((r) => r.slice()),
    source: src.source ? `${src.source} (resliced)` : undefined,
  };
}
