/**
 * Planning the views of a cine exam as a radiographer would, from the subject's anatomy:
 * a short-axis (SA) stack perpendicular to the LV long axis from base to apex, and long-axis
 * planes through the LV apex: 4CH through both ventricles, 2CH through the LV only, 3CH through
 * the aortic root. Planning is imperfect in real exams, so each plane gets a small random tilt.
 */
import { affineFromAxes } from "../../geometry/affine.js";
import type { Grid } from "../../geometry/reslice.js";
import { add, cross, normalize, rotateAbout, scale, sub, type Vec3 } from "../../geometry/vec.js";
import { Random } from "../../random.js";
import type { CardiacSubject } from "./subject.js";

export type ViewName = "SA" | "2CH" | "3CH" | "4CH";
export const LONG_AXIS_VIEWS: readonly ViewName[] = ["2CH", "3CH", "4CH"];

export interface ViewPlan {
  name: ViewName;
  grid: Grid;
  /** Slice thickness (mm): partial volume is simulated across it. */
  thickness: number;
}

export interface ExamOptions {
  /** In-plane matrix (pixels per side). */
  matrix: number;
  /** In-plane pixel size (mm). */
  pixel: number;
}

export const DEFAULT_EXAM: ExamOptions = { matrix: 128, pixel: 2.0 };

const deg = Math.PI / 180;

/** A plane grid: pixel axes u (i) and v (j), the normal scaled by thickness, centred on `centre`. */
function planeGrid(u: Vec3, v: Vec3, centre: Vec3, options: ExamOptions, slices: number, spacing: number, firstSliceOffset: number): Grid {
  const { matrix, pixel } = options;
  const n = normalize(cross(u, v));
  const half = (matrix - 1) / 2;
  const origin = sub(add(centre, scale(n, firstSliceOffset)), add(scale(u, half * pixel), scale(v, half * pixel)));
  const affine = affineFromAxes(scale(u, pixel), scale(v, pixel), scale(n, spacing), origin);
  // NIfTI stores the affine as float32: rounding here makes a written subject read back exactly.
  return { shape: [matrix, matrix, slices], affine: affine.map((row) => row.map(Math.fround)) };
}

export function planExam(s: CardiacSubject, options: ExamOptions = DEFAULT_EXAM): ViewPlan[] {
  const rng = new Random(s.seed * 104729 + 3);
  const { x: hx, y: hy, z: hz } = s.axes;
  const h = s.ed;
  const toWorld = (p: Vec3): Vec3 => add(s.origin, add(add(scale(hx, p[0]), scale(hy, p[1])), scale(hz, p[2])));

  // SA stack: normal = long axis (base -> apex); the in-plane orientation varies between exams.
  const spacing = rng.uniform(8, 10);
  const above = rng.uniform(0, 0.6) * spacing; // the first slice may sit above the base (atria)
  const length = h.lvLength + h.apicalWall + above;
  const slices = Math.max(8, Math.min(12, Math.round(length / spacing) + 1));
  const saU = rotateAbout(hx, hz, rng.uniform(-180, 180) * deg);
  const saV = cross(hz, saU);
  const saCentre = toWorld([rng.uniform(-8, 8), rng.uniform(-8, 8), 0]);
  const plans: ViewPlan[] = [{ name: "SA", grid: planeGrid(saU, saV, saCentre, options, slices, spacing, -above), thickness: spacing * 0.8 }];

  // Long-axis planes all contain the LV long axis (up to a small planning error), rotated about it:
  // 4CH at the RV direction (x), 2CH perpendicular to it (through the LV only), 3CH at the aorta.
  const angles: Record<string, number> = { "4CH": 0, "2CH": Math.PI / 2, "3CH": s.aorticAngle };
  const centre = toWorld([0, 0, 0.45 * (h.lvLength + h.apicalWall)]);
  for (const name of ["2CH", "3CH", "4CH"] as const) {
    const inPlane = rotateAbout(hx, hz, angles[name] + rng.uniform(-5, 5) * deg);
    // Tilt the plane a little about the in-plane direction: the apex is never hit exactly.
    const axis = rotateAbout(hz, inPlane, rng.uniform(-4, 4) * deg);
    // Image rows run along the long axis, base at the top, as LA views are usually displayed.
    plans.push({ name, grid: planeGrid(inPlane, axis, centre, options, 1, 8, 0), thickness: 8 });
  }
  return plans;
}
