/**
 * What tissue sits at a world point of a synthetic subject, at end-diastole or end-systole.
 * The anatomy is analytic (implicit surfaces), so any view plane can be "imaged" exactly and the
 * geometry of every view is known to floating-point precision.
 *
 * Heart frame (subject.ts): origin at the centre of the LV base, z from base to apex, x towards
 * the RV, y = z cross x. The atria and great vessels lie at z < 0.
 */
import type { Vec3 } from "../../geometry/vec.js";
import type { CardiacSubject, HeartShape } from "./subject.js";

/** Tissue classes; `TISSUE_LABEL` maps them to the M&Ms labels (0 bg, 1 LV, 2 myocardium, 3 RV). */
export const Tissue = {
  Air: 0,
  Fat: 1,
  Muscle: 2,
  Lung: 3,
  Liver: 4,
  Marrow: 5,
  Csf: 6,
  LvBlood: 7,
  Papillary: 8,
  LvMyocardium: 9,
  RvBlood: 10,
  RvWall: 11,
  AtrialBlood: 12,
  AorticBlood: 13,
} as const;
export type TissueId = (typeof Tissue)[keyof typeof Tissue];

/** Papillary muscles belong to the LV blood pool label, as in the ACDC and M&Ms annotations. */
export const TISSUE_LABEL: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 0, 0, 0];

export type Phase = "ED" | "ES";

/** Mean MR intensity of each tissue for this subject (bSSFP cine: blood bright, myocardium dark). */
export function tissueIntensities(s: CardiacSubject): Float32Array {
  const l = s.look;
  const t = new Float32Array(14);
  t[Tissue.Air] = 0;
  t[Tissue.Fat] = l.fat;
  t[Tissue.Muscle] = l.muscle;
  t[Tissue.Lung] = l.lung;
  t[Tissue.Liver] = l.liver;
  t[Tissue.Marrow] = l.marrow;
  t[Tissue.Csf] = l.blood * 0.9;
  t[Tissue.LvBlood] = l.blood;
  t[Tissue.Papillary] = l.myocardium;
  t[Tissue.LvMyocardium] = l.myocardium;
  t[Tissue.RvBlood] = l.blood * 0.95;
  t[Tissue.RvWall] = l.myocardium;
  t[Tissue.AtrialBlood] = l.blood * 0.92;
  t[Tissue.AorticBlood] = l.blood * 1.05;
  return t;
}

function ripple(theta: number, terms: { amp: number; phase: number }[]): number {
  let r = 1;
  for (let m = 0; m < terms.length; m++) r += terms[m].amp * Math.cos((m + 2) * theta + terms[m].phase);
  return r;
}

/** Classifier for one subject and phase; precomputes what does not depend on the point. */
export function makeTissueClassifier(s: CardiacSubject, phase: Phase): (x: number, y: number, z: number) => TissueId {
  const h: HeartShape = phase === "ED" ? s.ed : s.es;
  const { x: ax, y: ay, z: az } = s.axes;
  const o = s.origin;
  const R = h.lvRadius;
  const epiLength = h.lvLength + h.apicalWall;
  // RV cavity: an ellipse beside the septum (centre at +x), minus the LV, so it wraps the septum.
  // It is clipped at x > 0.25 R so the two-chamber plane (x = 0) passes through the LV only.
  const rvCx = 0.6 * (R + h.wall);
  const rvAx = 0.4 * (R + h.wall) + h.rvDepth;
  const rvAy = Math.max(h.rvWidth, R + h.wall + 4);
  const rvWall = 3;
  // Atria sit above the base; the aortic root leaves the base at `aorticAngle`.
  const la: Vec3 = [-0.3 * R, -0.3 * R, -24];
  const ra: Vec3 = [R + h.rvDepth * 0.8, 0.2 * R, -26];
  const aoRoot: Vec3 = [0.55 * R * Math.cos(s.aorticAngle), 0.55 * R * Math.sin(s.aorticAngle), -4];
  const aoRadius = 13;
  const aoLength = 55;
  const { halfWidth, halfDepth, fat, liverTop } = s.torso;
  // Largest distance from the LV axis that the LV (with its rippled wall) or the RV can reach.
  const maxRipple = 1 + s.lvRipple.reduce((a, t) => a + t.amp, 0);
  const lvReach = R * maxRipple + h.wall;
  const rvReach = rvAy * (1 + s.rvRipple.reduce((a, t) => a + t.amp, 0)) + rvWall;

  // Called millions of times per subject: plain numbers in, no allocation.
  return (x: number, y: number, z: number): TissueId => {
    const dx = x - o[0];
    const dy = y - o[1];
    const dz = z - o[2];
    const hx = dx * ax[0] + dy * ax[1] + dz * ax[2];
    const hy = dx * ay[0] + dy * ay[1] + dz * ay[2];
    const hz = dx * az[0] + dy * az[1] + dz * az[2];

    // ---- heart (skip quickly when far away) ----
    if (hz > -60 && hz < epiLength + 5 && Math.abs(hx) < 110 && Math.abs(hy) < 110) {
      const rho = Math.sqrt(hx * hx + hy * hy);
      // Angles and ripples are costly: compute them only for points that can be in a ventricle.
      if (hz >= 0 && hz <= epiLength && rho <= lvReach) {
        const theta = Math.atan2(hy, hx);
        const cavityR = R * ripple(theta, s.lvRipple);
        const fo = Math.sqrt(Math.max(0, 1 - (hz / epiLength) ** 2));
        const epiR = (cavityR + h.wall) * fo;
        if (rho <= epiR) {
          if (hz <= h.lvLength) {
            const fi = Math.sqrt(Math.max(0, 1 - (hz / h.lvLength) ** 2));
            if (rho <= cavityR * fi) {
              // Papillary muscles: columns near the free wall in the mid and apical cavity.
              if (hz > 0.3 * h.lvLength && hz < 0.75 * h.lvLength) {
                for (const pm of s.papillary) {
                  const d = 0.72 * cavityR * fi;
                  const ex = hx - d * Math.cos(pm.angle);
                  const ey = hy - d * Math.sin(pm.angle);
                  if (ex * ex + ey * ey <= pm.radius * pm.radius) return Tissue.Papillary;
                }
              }
              return Tissue.LvBlood;
            }
          }
          return Tissue.LvMyocardium;
        }
      }
      if (hz >= -5 && hz <= h.rvLength && hx > 0.25 * R && Math.abs(hy) <= rvReach && hx <= rvCx + rvAx + rvWall) {
        const g = Math.sqrt(Math.max(0, 1 - (Math.max(hz, 0) / h.rvLength) ** 2));
        const rw = ripple(Math.atan2(hy, hx), s.rvRipple);
        const e = ((hx - rvCx) / (rvAx * g)) ** 2 + (hy / (rvAy * g * rw)) ** 2;
        if (e <= 1) return Tissue.RvBlood;
        const ew = ((hx - rvCx) / (rvAx * g + rvWall)) ** 2 + (hy / (rvAy * g * rw + rvWall)) ** 2;
        if (ew <= 1) return Tissue.RvWall;
      }
      if (hz < 0) {
        const ax0 = hx - aoRoot[0];
        const ay0 = hy - aoRoot[1];
        if (hz > aoRoot[2] - aoLength && ax0 * ax0 + ay0 * ay0 <= aoRadius * aoRadius) return Tissue.AorticBlood;
        if (((hx - la[0]) / (0.9 * R)) ** 2 + ((hy - la[1]) / (0.9 * R)) ** 2 + ((hz - la[2]) / 22) ** 2 <= 1) return Tissue.AtrialBlood;
        if (((hx - ra[0]) / (0.8 * R)) ** 2 + ((hy - ra[1]) / (0.8 * R)) ** 2 + ((hz - ra[2]) / 24) ** 2 <= 1) return Tissue.AtrialBlood;
      }
    }

    // ---- torso, in world RAS coordinates (x right, y anterior, z superior) ----
    const body = (x / halfWidth) ** 2 + (y / halfDepth) ** 2;
    if (body > 1) return Tissue.Air;
    if ((x / (halfWidth - fat)) ** 2 + (y / (halfDepth - fat)) ** 2 > 1) return Tissue.Fat;
    // Descending aorta, left of the spine.
    if ((x + 18) ** 2 + (y + halfDepth * 0.45) ** 2 <= 11 * 11) return Tissue.AorticBlood;
    // Spine: vertebral body (marrow) and the canal behind it.
    const spineY = -halfDepth + fat + 38;
    if (x * x + (y - spineY) ** 2 <= 17 * 17) return Tissue.Marrow;
    if (x * x + (y - spineY + 25) ** 2 <= 7 * 7) return Tissue.Csf;
    // Liver under the right hemidiaphragm (right = +x), dome-shaped top.
    const dome = liverTop - 0.0025 * (x - 60) ** 2;
    if (x > -50 && z < dome) return Tissue.Liver;
    // Lungs fill both sides of the chest above the diaphragm.
    const chestX = halfWidth - fat - 12;
    const chestY = halfDepth - fat - 10;
    if (z > dome - 15 && Math.abs(x) > 25 && (x / chestX) ** 2 + (y / chestY) ** 2 < 1 && y < halfDepth * 0.55) return Tissue.Lung;
    return Tissue.Muscle;
  };
}
