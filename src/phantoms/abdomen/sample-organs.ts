/**
 * Sampling the solid organs: liver, gallbladder, spleen, both kidneys and the optional renal
 * tumour. Each kidney is drawn on its own (size, shape, rotation and deformation), so the two
 * are never mirror images.
 */
import { add, normalize, scale, type Vec3 } from "../../geometry/vec.js";
import type { Random } from "../../random.js";
import { frameFrom, randomDirection, sampleRipples, type Blob } from "./shapes.js";
import type { AbdomenSubject, Kidney, Tumor } from "./subject.js";

const DEG = Math.PI / 180;

/**
 * Liver (about 1.2-1.8 litres in adults) as a right lobe filling the right upper quadrant up to
 * the right dome plus a smaller left lobe reaching across the midline; gallbladder (absent in
 * ~15%: cholecystectomy) under the right lobe; spleen (about 100-300 ml; the real sample's is
 * 255 ml and cut by the field of view) as a crescent against the left posterolateral wall with
 * its long axis along the ribs, 40-50 mm thick, 65-85 mm wide, 105-135 mm long (wall, ribs,
 * left kidney and diaphragm trim it to about 120-180 ml).
 */
export function sampleSolidOrgans(rng: Random, diaphragm: AbdomenSubject["diaphragm"]): Pick<AbdomenSubject, "liver" | "gallbladder" | "spleen"> {
  const rightSemi: Vec3 = [rng.uniform(62, 80), rng.uniform(70, 90), rng.uniform(70, 88)];
  const yaw = rng.uniform(-12, 12) * DEG;
  const right: Blob = {
    centre: [rng.uniform(60, 78), rng.uniform(15, 40), diaphragm.domeRight - rightSemi[2] * rng.uniform(0.8, 0.95)],
    semi: rightSemi,
    axes: frameFrom([rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15), 1], [Math.cos(yaw), Math.sin(yaw), 0]),
    bend: 0,
    ripples: sampleRipples(rng, 3, 0.07),
  };
  const left: Blob = {
    centre: [-rng.uniform(10, 35), rng.uniform(55, 80), diaphragm.domeLeft - rng.uniform(25, 45)],
    semi: [rng.uniform(45, 65), rng.uniform(28, 40), rng.uniform(28, 42)],
    axes: frameFrom([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), 1], [1, rng.uniform(-0.3, 0.3), 0]),
    bend: 0,
    ripples: sampleRipples(rng, 3, 0.06),
  };
  const gallbladder: Blob | null = rng.next() < 0.85
    ? {
        centre: [rng.uniform(35, 55), rng.uniform(55, 80), right.centre[2] - rng.uniform(30, 50)],
        semi: [rng.uniform(12, 18), rng.uniform(12, 18), rng.uniform(30, 45)],
        axes: frameFrom([rng.uniform(-0.3, 0.3), 0.6, -0.8], [1, 0, 0]),
        bend: 0.1,
        ripples: sampleRipples(rng, 2, 0.04),
      }
    : null;
  const spleen: Blob = {
    centre: [-rng.uniform(85, 105), -rng.uniform(10, 35), diaphragm.domeLeft - rng.uniform(45, 65)],
    semi: [rng.uniform(19, 26), rng.uniform(32, 42), rng.uniform(52, 68)],
    // u points at the wall (lateral, a little posterior); the hilum faces -u.
    axes: frameFrom([-0.25 + rng.uniform(-0.1, 0.1), 0.75 + rng.uniform(-0.15, 0.15), -0.6 + rng.uniform(-0.15, 0.15)], [-1, -0.4, 0]),
    bend: rng.uniform(0.2, 0.4),
    ripples: sampleRipples(rng, 3, 0.05),
  };
  return { liver: { right, left }, gallbladder, spleen };
}

/**
 * Kidneys: 105-130 mm long, 55-70 mm wide, 45-55 mm thick (about 130-270 ml, mean near 200 ml
 * as in CT volumetry of adults; the three KiTS19 samples measure 180-290 ml of kidney label); hila at L1-L2; upper poles tilted towards the midline and
 * backwards (seen in all six KiTS19 kidneys measured in realism.ts), hila facing anteromedially.
 * The right kidney sits lower, usually by 10-20 mm (pushed down by the liver); in some adults
 * it is level with or above the left (one of the three KiTS19 cases has its left kidney lower),
 * so the offset is normal(12, 12) mm (right lower in ~84%), not a constant.
 */
export function sampleKidneys(rng: Random, organShift: number): AbdomenSubject["kidneys"] {
  const kidney = (side: 1 | -1, z: number): Kidney => {
    const psi = rng.uniform(25, 50) * DEG;
    const coronal = rng.uniform(5, 20) * DEG;
    const sagittal = rng.uniform(5, 25) * DEG;
    return {
      shape: {
        centre: [side * rng.uniform(62, 78), rng.uniform(-10, 8), z],
        semi: [rng.uniform(28, 36), rng.uniform(22, 28), rng.uniform(53, 66)],
        // u: lateral and a little posterior, so the hilum (-u) faces anteromedially.
        axes: frameFrom([-side * Math.tan(coronal), -Math.tan(sagittal), 1], [side * Math.cos(psi), -Math.sin(psi), 0]),
        bend: rng.uniform(0.1, 0.25),
        ripples: sampleRipples(rng, 3, 0.04),
      },
      cortex: rng.uniform(6, 9),
      // Renal sinus fat grows with age and weight.
      sinus: rng.uniform(0.55, 0.95),
      pyramidPhase: rng.uniform(0, 2 * Math.PI),
    };
  };
  const leftZ = organShift + rng.uniform(-5, 5);
  const offset = Math.min(50, Math.max(-30, rng.normal(12, 12)));
  const left = kidney(-1, leftZ);
  const right = kidney(1, leftZ - offset);
  return { left, right };
}

/**
 * A renal tumour of 20-70 mm diameter on a random side, centred near the kidney surface away
 * from the hilum, from mostly inside to mostly exophytic; larger ones have a necrotic core.
 */
export function sampleTumor(rng: Random, kidneys: AbdomenSubject["kidneys"]): Tumor {
  const side = rng.next() < 0.5 ? "left" : "right";
  const k = kidneys[side].shape;
  let d = randomDirection(rng);
  while (d[0] < -0.3) d = randomDirection(rng);
  // Point on the (undeformed) surface in direction d of the normalised frame, and its normal.
  let surface = k.centre;
  let normal: Vec3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    surface = add(surface, scale(k.axes[a], k.semi[a] * d[a]));
    normal = add(normal, scale(k.axes[a], d[a] / k.semi[a]));
  }
  normal = normalize(normal);
  const radius = rng.uniform(10, 35);
  const centre = add(surface, scale(normal, radius * rng.uniform(-0.6, 0.4)));
  return {
    side,
    shape: {
      centre,
      semi: [radius * rng.uniform(0.9, 1.1), radius * rng.uniform(0.9, 1.1), radius * rng.uniform(0.9, 1.1)],
      axes: frameFrom(normal, randomDirection(rng)),
      bend: 0,
      ripples: sampleRipples(rng, 3, 0.08),
    },
    necrosis: radius > 20 ? rng.uniform(0.2, 0.55) : 0,
  };
}
