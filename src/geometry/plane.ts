/**
 * Imaging planes and where they cut each other. An imaging plane is a slice of a Volume: the
 * plane through voxel (0, 0, k) spanned by the i and j axes of its affine. Everything here works
 * from affines alone, so it applies unchanged to real scanner data and to phantoms.
 */
import type { Volume } from "../io/volume.js";
import { applyToPoint, column } from "./affine.js";
import { cross, dot, norm, normalize, scale, sub, type Vec3 } from "./vec.js";

/** A plane in world mm: a point on it and its unit normal. */
export interface Plane {
  point: Vec3;
  normal: Vec3;
}

/** A line in world mm: a point on it and its unit direction. */
export interface Line3 {
  point: Vec3;
  direction: Vec3;
}

/**
 * A line in a slice's pixel coordinates: a*i + b*j + c = 0, with i, j the zero-based voxel
 * indices along the slice's first and second axes. Scaled so that a^2 + b^2 = 1 (so |a i + b j + c|
 * is a distance in pixels when pixels are square).
 */
export interface PixelLine {
  a: number;
  b: number;
  c: number;
}

/** Planes whose normals differ by less than this angle (radians) are treated as parallel. */
export const PARALLEL_TOLERANCE = 1e-6;

export function slicePlane(v: Volume, k: number): Plane {
  const point = applyToPoint(v.affine, [0, 0, k]);
  return { point, normal: normalize(cross(column(v.affine, 0), column(v.affine, 1))) };
}

/** The line where two planes meet, or undefined when they are parallel. */
export function intersectPlanes(p: Plane, q: Plane): Line3 | undefined {
  const d = cross(p.normal, q.normal);
  const s = norm(d);
  if (s < PARALLEL_TOLERANCE) return undefined;
  // The point on the line closest to the origin solves n1.x = h1, n2.x = h2, d.x = 0:
  // x = (h1 (n2 x d) + h2 (d x n1)) / |d|^2.
  const h1 = dot(p.normal, p.point);
  const h2 = dot(q.normal, q.point);
  const a = scale(cross(q.normal, d), h1);
  const b = scale(cross(d, p.normal), h2);
  const point = scale([a[0] + b[0], a[1] + b[1], a[2] + b[2]], 1 / (s * s));
  return { point, direction: scale(d, 1 / s) };
}

/**
 * Where `other` cuts slice k of `v`, in that slice's pixel coordinates; undefined when parallel.
 * A pixel (i, j) lies on the line when its world position x satisfies n.(x - p) = 0, and x is
 * affine in (i, j), so the line's coefficients are n.col0, n.col1 and n.(x(0,0) - p).
 */
export function lineInSlice(v: Volume, k: number, other: Plane): PixelLine | undefined {
  const sliceNormal = slicePlane(v, k).normal;
  if (norm(cross(sliceNormal, other.normal)) < PARALLEL_TOLERANCE) return undefined;
  const a = dot(other.normal, column(v.affine, 0));
  const b = dot(other.normal, column(v.affine, 1));
  const c = dot(other.normal, sub(applyToPoint(v.affine, [0, 0, k]), other.point));
  const s = Math.hypot(a, b);
  return { a: a / s, b: b / s, c: c / s };
}

/**
 * Signed in-plane distance (mm) from every pixel of slice k to the line where `other` cuts it,
 * as a Float32Array of nx*ny values (i fastest). The sign tells the side of `other` (positive
 * along its normal). Distances are measured within the slice plane, so they stay correct when the
 * planes meet at an oblique angle: d_inplane = n.(x - p) / sin(angle between the planes).
 * Undefined when the planes are parallel.
 */
export function distanceToLineMm(v: Volume, k: number, other: Plane): Float32Array | undefined {
  const m = slicePlane(v, k).normal;
  const sinAngle = norm(cross(m, other.normal));
  if (sinAngle < PARALLEL_TOLERANCE) return undefined;
  const [nx, ny] = v.shape;
  const di = dot(other.normal, column(v.affine, 0)) / sinAngle;
  const dj = dot(other.normal, column(v.affine, 1)) / sinAngle;
  const d0 = dot(other.normal, sub(applyToPoint(v.affine, [0, 0, k]), other.point)) / sinAngle;
  const out = new Float32Array(nx * ny);
  for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) out[i + nx * j] = d0 + di * i + dj * j;
  return out;
}

/**
 * Each slice's relative position along its stack: 0 at one end, 1 at the other, by position
 * along the stack normal (not by index, so unsorted stacks work). With `towards` (a world point,
 * e.g. the apex for a short-axis stack) the slice farthest from it gets 0 and the nearest gets 1
 * (0 = base, 1 = apex); without it, 0 is the slice with the lowest k-axis coordinate.
 */
export function relativeSlicePositions(v: Volume, towards?: Vec3): number[] {
  const nz = v.shape[2];
  if (nz < 2) return [0];
  const normal = slicePlane(v, 0).normal;
  const along = Array.from({ length: nz }, (_, k) => dot(normal, applyToPoint(v.affine, [0, 0, k])));
  const lo = Math.min(...along);
  const hi = Math.max(...along);
  if (hi - lo < 1e-9) throw new Error(`${v.source ?? "volume"}: all slices lie in one plane; no position along the stack`);
  let t = along.map((s) => (s - lo) / (hi - lo));
  const flip = towards ? dot(normal, towards) < (lo + hi) / 2 : dot(normal, column(v.affine, 2)) < 0;
  if (flip) t = t.map((x) => 1 - x);
  return t;
}
