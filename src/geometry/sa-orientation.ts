/**
 * How slice images lie in the patient, from the affine alone: where patient directions point in
 * pixel coordinates, the in-plane handedness against the LV long axis, the in-plane rotation, and
 * (with labels) where the RV lies from the LV as a 2D network sees it. Issue 9: the phantoms drew
 * the short-axis (SA) in-plane rotation in +-180 degrees, real stacks do not; this measures both.
 *
 * Definitions (degrees throughout):
 * - Image angle of a direction: atan2(dj, di) of its step in pixel coordinates: 0 along +i, 90
 *   along +j, +-180 along -i. A row-major array shows i across and j down, so -90 is "up".
 *   World directions are projected into the slice plane and solved against the affine's i and j
 *   columns, so anisotropic pixels and sheared axes give what a network sees.
 * - Handedness: +1 when i x j points from base to apex (+j is +i turned +90 degrees about the
 *   base->apex axis), -1 when it points to the base. It is taken against anatomy, not against
 *   the k column, so slice order and the determinant's sign do not change it; mirroring the array
 *   in-plane or swapping i and j does. The Sunnybrook DICOM stacks are -1 (seen from the apex, as
 *   the standard display); the M&Ms-2 NIfTI arrays +1 (i and j swapped by their conversion).
 * - Rotation: the signed angle about the base->apex axis from +i to the patient's posterior
 *   projected into the plane (physical angle, not pixel angle). Rotation 0 with handedness +1 is
 *   the convention of the M&Ms-2 arrays, which the phantoms follow: anterior towards -i.
 */
import type { Affine, Volume } from "../io/volume.js";
import { applyToPoint, column } from "./affine.js";
import { add, cross, dot, norm, normalize, scale, sub, type Vec3 } from "./vec.js";

/** Patient directions in RAS+ world coordinates. */
export const ANTERIOR: Vec3 = [0, 1, 0];
export const POSTERIOR: Vec3 = [0, -1, 0];
export const PATIENT_LEFT: Vec3 = [-1, 0, 0];
export const SUPERIOR: Vec3 = [0, 0, 1];

/** Rough base->apex direction of a normal heart (left, anterior, inferior): orients SA normals when labels cannot. */
export const TYPICAL_BASE_TO_APEX: Vec3 = normalize([-1, 1, -1]);

/** An angle in degrees brought into (-180, 180]. */
export function wrapDegrees(a: number): number {
  const r = (((a + 180) % 360) + 360) % 360 - 180;
  return r === -180 ? 180 : r;
}

/**
 * The step in pixel coordinates (di, dj) whose world displacement is the in-plane part of
 * `direction`: least squares against the i and j columns, i.e. the projection into the plane.
 */
export function inPlanePixelStep(affine: Affine, direction: Vec3): [number, number] {
  const ci = column(affine, 0);
  const cj = column(affine, 1);
  const [gii, gij, gjj] = [dot(ci, ci), dot(ci, cj), dot(cj, cj)];
  const [ri, rj] = [dot(ci, direction), dot(cj, direction)];
  const det = gii * gjj - gij * gij;
  if (!(det > 0)) throw new Error("affine's i and j axes are parallel: no slice plane");
  return [(ri * gjj - rj * gij) / det, (gii * rj - gij * ri) / det];
}

/** Image angle of a world direction, NaN when it is (nearly) along the slice normal. */
function angleOrNaN(affine: Affine, direction: Vec3): number {
  const [a, b] = inPlanePixelStep(affine, direction);
  const inPlane = add(scale(column(affine, 0), a), scale(column(affine, 1), b));
  return norm(inPlane) < 1e-3 * norm(direction) ? NaN : (Math.atan2(b, a) * 180) / Math.PI;
}

/** Image angle (see the header) of a world direction; throws when it is (nearly) along the slice normal. */
export function imageAngle(affine: Affine, direction: Vec3): number {
  const angle = angleOrNaN(affine, direction);
  if (Number.isNaN(angle)) throw new Error(`direction [${direction}] is along the slice normal: it has no in-plane angle`);
  return angle;
}

export interface SaOrientation {
  /** Unit slice normal pointing from base to apex. */
  baseToApex: Vec3;
  /** +1: i x j points to the apex (M&Ms-2 arrays, the phantoms); -1: to the base (DICOM display). */
  handedness: 1 | -1;
  /** Signed angle about `baseToApex` from +i to the projected patient posterior, in (-180, 180] (NaN along the normal). */
  rotation: number;
  /** Image angles of the patient's anterior, left and superior directions projected into the plane (NaN along the normal). */
  anterior: number;
  left: number;
  superior: number;
}

/**
 * In-plane orientation of a short-axis stack. Only the sign of `baseToApex` along the slice normal
 * is used (give it from labels, see baseToApexFromLabels, or leave the typical direction); throws
 * when the normal is more than 60 degrees from it, where that sign would be a guess.
 */
export function saOrientation(affine: Affine, baseToApex: Vec3 = TYPICAL_BASE_TO_APEX): SaOrientation {
  const ci = column(affine, 0);
  const normal = normalize(cross(ci, column(affine, 1)));
  const along = dot(normal, normalize(baseToApex));
  if (Math.abs(along) < 0.5) throw new Error(`slice normal [${normal.map((x) => x.toFixed(2))}] is ${((Math.acos(Math.abs(along)) * 180) / Math.PI).toFixed(0)} degrees from the base->apex direction: not a short-axis stack?`);
  const handedness = along > 0 ? 1 : -1;
  const ba = scale(normal, handedness);
  const i = normalize(ci);
  const posterior = sub(POSTERIOR, scale(normal, dot(POSTERIOR, normal)));
  const rotation = norm(posterior) < 1e-3 ? NaN : (Math.atan2(dot(cross(ba, i), posterior), dot(i, posterior)) * 180) / Math.PI;
  return {
    baseToApex: ba,
    handedness,
    rotation: wrapDegrees(rotation),
    anterior: angleOrNaN(affine, ANTERIOR),
    left: angleOrNaN(affine, PATIENT_LEFT),
    superior: angleOrNaN(affine, SUPERIOR),
  };
}

/**
 * Base->apex along the slice normal from labels: the LV (cavity and wall, `lvLabels`) narrows
 * towards the apex, so the sign of the least-squares slope of its area against slice position
 * decides. Undefined with fewer than 3 slices holding it or no slope.
 */
export function baseToApexFromLabels(labels: Volume, lvLabels: readonly number[] = [1, 2]): Vec3 | undefined {
  const [nx, ny, nz] = labels.shape;
  const normal = normalize(cross(column(labels.affine, 0), column(labels.affine, 1)));
  const wanted = new Set(lvLabels);
  const points: [number, number][] = [];
  for (let k = 0; k < nz; k++) {
    let area = 0;
    for (let o = k * nx * ny; o < (k + 1) * nx * ny; o++) if (wanted.has(Math.round(labels.data[o]))) area++;
    if (area > 0) points.push([dot(normal, applyToPoint(labels.affine, [0, 0, k])), area]);
  }
  if (points.length < 3) return undefined;
  const ms = points.reduce((a, p) => a + p[0], 0) / points.length;
  const ma = points.reduce((a, p) => a + p[1], 0) / points.length;
  const slope = points.reduce((a, [s, area]) => a + (s - ms) * (area - ma), 0);
  if (slope === 0) return undefined;
  return scale(normal, slope < 0 ? 1 : -1);
}

export interface LvRvDirection {
  /** Image angle of the step from the LV centroid to the RV centroid. */
  angle: number;
  /** Centroids (i, j) in pixels, pooled over `slices`. */
  lv: [number, number];
  rv: [number, number];
  /** Slices holding both labels: the only ones used. */
  slices: number[];
}

/**
 * Where the RV lies from the LV in pixel coordinates, as a 2D network sees it: the angle of the
 * step between the label centroids (M&Ms convention: LV 1, RV 3) over the slices holding both.
 * Undefined when no slice holds both.
 */
export function lvRvAngle(labels: Volume, lv = 1, rv = 3): LvRvDirection | undefined {
  const [nx, ny, nz] = labels.shape;
  const sum = { [lv]: [0, 0, 0], [rv]: [0, 0, 0] };
  const slices: number[] = [];
  for (let k = 0; k < nz; k++) {
    const s = { [lv]: [0, 0, 0], [rv]: [0, 0, 0] };
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const acc = s[Math.round(labels.data[i + nx * (j + ny * k)])];
        if (acc) [acc[0], acc[1], acc[2]] = [acc[0] + i, acc[1] + j, acc[2] + 1];
      }
    if (s[lv][2] === 0 || s[rv][2] === 0) continue;
    slices.push(k);
    for (const l of [lv, rv]) for (let c = 0; c < 3; c++) sum[l][c] += s[l][c];
  }
  if (slices.length === 0) return undefined;
  const centroid = (l: number): [number, number] => [sum[l][0] / sum[l][2], sum[l][1] / sum[l][2]];
  const [a, b] = [centroid(lv), centroid(rv)];
  return { angle: (Math.atan2(b[1] - a[1], b[0] - a[0]) * 180) / Math.PI, lv: a, rv: b, slices };
}
