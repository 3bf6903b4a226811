/**
 * 4x4 affine helpers. Matrices are row-major number[][] (the Volume convention, io/volume.ts):
 * world = A * [i, j, k, 1].
 */
import type { Affine } from "../io/volume.js";
import type { Vec3 } from "./vec.js";

export function matmul(a: Affine, b: Affine): Affine {
  const out: Affine = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]];
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) for (let k = 0; k < 4; k++) out[r][c] += a[r][k] * b[k][c];
  return out;
}

/** Apply to a point (w = 1). */
export function applyToPoint(a: Affine, p: Vec3): Vec3 {
  return [0, 1, 2].map((r) => a[r][0] * p[0] + a[r][1] * p[1] + a[r][2] * p[2] + a[r][3]) as Vec3;
}

/** Apply to a direction (w = 0): no translation. */
export function applyToVector(a: Affine, v: Vec3): Vec3 {
  return [0, 1, 2].map((r) => a[r][0] * v[0] + a[r][1] * v[1] + a[r][2] * v[2]) as Vec3;
}

/** Column c of the 3x3 part: the world step of one voxel along axis c. */
export function column(a: Affine, c: number): Vec3 {
  return [a[0][c], a[1][c], a[2][c]];
}

export function translation(a: Affine): Vec3 {
  return [a[0][3], a[1][3], a[2][3]];
}

/** Inverse of an affine (last row 0 0 0 1), by the 3x3 adjugate. Throws when singular. */
export function invertAffine(a: Affine): Affine {
  const [m00, m01, m02] = a[0];
  const [m10, m11, m12] = a[1];
  const [m20, m21, m22] = a[2];
  const c00 = m11 * m22 - m12 * m21;
  const c01 = m12 * m20 - m10 * m22;
  const c02 = m10 * m21 - m11 * m20;
  const det = m00 * c00 + m01 * c01 + m02 * c02;
  const scaleOfA = Math.max(...a.slice(0, 3).flatMap((r) => r.slice(0, 3).map(Math.abs)));
  if (!Number.isFinite(det) || Math.abs(det) <= 1e-12 * scaleOfA ** 3) throw new Error("affine is singular and cannot be inverted");
  const inv3 = [
    [c00 / det, (m02 * m21 - m01 * m22) / det, (m01 * m12 - m02 * m11) / det],
    [c01 / det, (m00 * m22 - m02 * m20) / det, (m02 * m10 - m00 * m12) / det],
    [c02 / det, (m01 * m20 - m00 * m21) / det, (m00 * m11 - m01 * m10) / det],
  ];
  const t = [a[0][3], a[1][3], a[2][3]];
  const out: Affine = inv3.map((row) => [...row, -(row[0] * t[0] + row[1] * t[1] + row[2] * t[2])]);
  out.push([0, 0, 0, 1]);
  return out;
}

/** Build an affine from three voxel-axis vectors (world step per voxel) and an origin (voxel 0,0,0). */
export function affineFromAxes(u: Vec3, v: Vec3, w: Vec3, origin: Vec3): Affine {
  return [
    [u[0], v[0], w[0], origin[0]],
    [u[1], v[1], w[1], origin[1]],
    [u[2], v[2], w[2], origin[2]],
    [0, 0, 0, 1],
  ];
}
