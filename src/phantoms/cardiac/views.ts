/**
 * Planning the views of a cine exam as a radiographer would, from the subject's anatomy:
 * a short-axis (SA) stack perpendicular to the LV long axis from base to apex, and long-axis
 * planes through the LV apex: 4CH through both ventricles, 2CH through the LV only, 3CH through
 * the aortic root. Planning is imperfect in real exams, so each plane gets a small random tilt.
 *
 * In-plane orientation (issue 9; measured by geometry/sa-orientation.ts). Scanners orient images
 * from patient directions, so the RV keeps to one side. These arrays follow the M&Ms-2 NIfTI files,
 * the layout they are written in: the standard display (anterior up, patient's left on the right,
 * seen from the apex) with i and j swapped, as that conversion stores it.
 * - SA: anterior towards -i, i x j from base to apex. M&Ms-2 001 (its sform read as LPS, which it
 *   is): rotation -0.8 degrees, handedness +1, RV centroid at -138 in (i, j).
 * - LA: apex towards +i, the anterior side up (-j). M&Ms-2 001 4CH: long axis at +12, RV above it.
 * - Each image is turned by a uniform +-IN_PLANE_SPREAD_DEG: twice the largest departure of a real
 *   stack from its scanner's own reference (M&Ms-2 001: 1 degree; Sunnybrook SCD0000201: about 10).
 *   With the anatomy's spread the RV lands within PLANNED_RV_ANGLE_DEG, never on the right.
 * Not modelled: scanners taking the reference from the normal's nearest patient axis or swapping
 * phase and frequency (Sunnybrook: RV at -175 and +97), and DICOM's handedness (-1, mirrored).
 * A change here changes the phantoms: bump SYNTHETIC_CARDIAC_GENERATOR (experiments/synthetic-cardiac.ts).
 */
import { affineFromAxes } from "../../geometry/affine.js";
import type { Grid } from "../../geometry/reslice.js";
import { POSTERIOR } from "../../geometry/sa-orientation.js";
import { add, cross, dot, normalize, rotateAbout, scale, sub, type Vec3 } from "../../geometry/vec.js";
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

/** Half-width (degrees) of the uniform in-plane rotation of every image about its convention (see above). */
export const IN_PLANE_SPREAD_DEG = 20;

/**
 * Where the RV centroid lands from the LV centroid in SA images (image angle, degrees): not a
 * parameter but what the anatomy and IN_PLANE_SPREAD_DEG give (the heart's RV direction +-50,
 * label centroids up to 10 more), checked by test/sa-orientation.test.ts.
 */
export const PLANNED_RV_ANGLE_DEG = { centre: -150, halfWidth: 60 } as const;

/** Which side of each long-axis plane goes up: the anterior one (RV for 4CH, anterior wall for 2CH and 3CH). */
const LA_UP: Record<"2CH" | "3CH" | "4CH", 1 | -1> = { "4CH": 1, "2CH": -1, "3CH": -1 };

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

  // SA stack: normal = long axis (base -> apex); +i along the projected posterior, turned a little.
  const spacing = rng.uniform(8, 10);
  const above = rng.uniform(0, 0.6) * spacing; // the first slice may sit above the base (atria)
  const length = h.lvLength + h.apicalWall + above;
  const slices = Math.max(8, Math.min(12, Math.round(length / spacing) + 1));
  const posterior = normalize(sub(POSTERIOR, scale(hz, dot(hz, POSTERIOR))));
  const saU = rotateAbout(posterior, hz, -rng.uniform(-IN_PLANE_SPREAD_DEG, IN_PLANE_SPREAD_DEG) * deg);
  const saV = cross(hz, saU); // i x j = base -> apex
  const saCentre = toWorld([rng.uniform(-8, 8), rng.uniform(-8, 8), 0]);
  const plans: ViewPlan[] = [{ name: "SA", grid: planeGrid(saU, saV, saCentre, options, slices, spacing, -above), thickness: spacing * 0.8 }];

  // Long-axis planes all contain the LV long axis (up to a small planning error), rotated about it:
  // 4CH at the RV direction (x), 2CH perpendicular to it (through the LV only), 3CH at the aorta.
  const angles: Record<string, number> = { "4CH": 0, "2CH": Math.PI / 2, "3CH": s.aorticAngle };
  const centre = toWorld([0, 0, 0.45 * (h.lvLength + h.apicalWall)]);
  const planned = (["2CH", "3CH", "4CH"] as const).map((name) => {
    const inPlane = rotateAbout(hx, hz, angles[name] + rng.uniform(-5, 5) * deg);
    // Tilt the plane a little about the in-plane direction: the apex is never hit exactly.
    const axis = rotateAbout(hz, inPlane, rng.uniform(-4, 4) * deg);
    return { name, inPlane, axis };
  });
  // Apex towards +i, the anterior side up; turns drawn after the planes so each seed keeps its planes.
  for (const { name, inPlane, axis } of planned) {
    const down = scale(inPlane, -LA_UP[name]);
    const normal = cross(axis, down);
    const turn = -rng.uniform(-IN_PLANE_SPREAD_DEG, IN_PLANE_SPREAD_DEG) * deg;
    plans.push({ name, grid: planeGrid(rotateAbout(axis, normal, turn), rotateAbout(down, normal, turn), centre, options, 1, 8, 0), thickness: 8 });
  }
  return plans;
}
