/**
 * A synthetic cardiac subject: every number that makes one subject differ from another, drawn
 * from a seed. Ranges follow adult cardiac MR (LV end-diastolic diameter 45-60 mm, wall 6-12 mm,
 * long axis 75-100 mm, ejection fraction ~45-70%), widened a little so that a network trained on
 * a handful of subjects does not see the whole population.
 */
import { Random } from "../../random.js";
import { cross, dot, normalize, rotateAbout, scale, sub, type Vec3 } from "../../geometry/vec.js";

/** Shape of the heart at one cardiac phase, in the heart frame (mm). */
export interface HeartShape {
  /** LV cavity radius at the base. */
  lvRadius: number;
  /** LV cavity length, base (z = 0) to the endocardial apex. */
  lvLength: number;
  /** LV wall thickness at the base and at the apex. */
  wall: number;
  apicalWall: number;
  /** RV cavity: radial depth, circumferential half-width, length. */
  rvDepth: number;
  rvWidth: number;
  rvLength: number;
}

export interface CardiacSubject {
  seed: number;
  /** Heart frame: origin at the centre of the LV base, z from base to apex, x towards the RV. */
  origin: Vec3;
  axes: { x: Vec3; y: Vec3; z: Vec3 };
  ed: HeartShape;
  es: HeartShape;
  /** Low-order shape irregularity of the cavities: amplitude and phase of cos(m theta), m = 2..4. */
  lvRipple: { amp: number; phase: number }[];
  rvRipple: { amp: number; phase: number }[];
  /** Papillary muscles: angle around the LV (radians) and radius (mm). */
  papillary: { angle: number; radius: number }[];
  /** Direction of the aortic root around the LV axis (radians from x); the 3CH view goes through it. */
  aorticAngle: number;
  /** Torso: half-widths (mm) of the body ellipse (left-right, anterior-posterior), dome of the liver. */
  torso: { halfWidth: number; halfDepth: number; fat: number; liverTop: number };
  /** MR appearance: mean intensity per tissue (before bias and noise), noise and bias levels. */
  look: {
    blood: number;
    myocardium: number;
    fat: number;
    liver: number;
    muscle: number;
    lung: number;
    marrow: number;
    snr: number;
    bias: number;
    biasDirection: Vec3;
  };
}

const deg = Math.PI / 180;

export function sampleCardiacSubject(seed: number): CardiacSubject {
  const rng = new Random(seed * 7919 + 17);
  // Long axis in RAS world: from base towards the apex, which points left (-x), anterior (+y) and
  // inferior (-z). Azimuth about 45 degrees from the left-right axis, elevation about 25 degrees
  // below horizontal, both varying between subjects as heart position does.
  const azimuth = rng.uniform(30, 60) * deg;
  const elevation = rng.uniform(12, 38) * deg;
  const z: Vec3 = normalize([-Math.cos(elevation) * Math.cos(azimuth), Math.cos(elevation) * Math.sin(azimuth), -Math.sin(elevation)]);
  // The RV lies to the patient's right and anterior of the LV; roll varies the septum's angle.
  let x: Vec3 = normalize(sub([1, 0.35, 0.1], scale(z, dot([1, 0.35, 0.1], z))));
  x = rotateAbout(x, z, rng.uniform(-15, 15) * deg);
  const y = cross(z, x);

  const lvRadius = rng.uniform(21, 32);
  const lvLength = rng.uniform(72, 100);
  const wall = rng.uniform(6, 12);
  const ed: HeartShape = {
    lvRadius,
    lvLength,
    wall,
    apicalWall: wall * rng.uniform(0.6, 0.9),
    rvDepth: rng.uniform(22, 38),
    rvWidth: rng.uniform(40, 60),
    rvLength: lvLength * rng.uniform(0.7, 0.92),
  };
  // End-systole: the cavity shrinks (ejection fraction 40-70%), the wall thickens roughly at
  // constant myocardial volume, the ventricle shortens a little.
  const radialShrink = rng.uniform(0.6, 0.8);
  const es: HeartShape = {
    lvRadius: lvRadius * radialShrink,
    lvLength: lvLength * rng.uniform(0.85, 0.95),
    wall: wall * rng.uniform(1.3, 1.7),
    apicalWall: ed.apicalWall * rng.uniform(1.2, 1.5),
    rvDepth: ed.rvDepth * rng.uniform(0.55, 0.75),
    rvWidth: ed.rvWidth * rng.uniform(0.8, 0.92),
    rvLength: ed.rvLength * rng.uniform(0.85, 0.95),
  };
  const ripple = () => [2, 3, 4].map((m) => ({ amp: rng.uniform(0, 0.12 / (m - 1)), phase: rng.uniform(0, 2 * Math.PI) }));
  const lvRipple = ripple();
  const rvRipple = ripple();
  // Two papillary muscles, antero-lateral and postero-medial (away from the septum at +x).
  const papillary = [rng.uniform(110, 150), rng.uniform(210, 250)].map((a) => ({ angle: a * deg, radius: rng.uniform(3, 6) }));

  const origin: Vec3 = [rng.uniform(-35, 5), rng.uniform(-5, 30), rng.uniform(-20, 20)];
  const blood = rng.uniform(0.75, 1);
  return {
    seed,
    origin,
    axes: { x, y, z },
    ed,
    es,
    lvRipple,
    rvRipple,
    papillary,
    aorticAngle: rng.uniform(95, 135) * deg,
    torso: { halfWidth: rng.uniform(140, 190), halfDepth: rng.uniform(95, 130), fat: rng.uniform(6, 25), liverTop: rng.uniform(-75, -40) },
    look: {
      blood,
      myocardium: blood * rng.uniform(0.2, 0.38),
      // Fat and liver can be nearly as bright as blood in bSSFP: neighbours of similar brightness.
      fat: blood * rng.uniform(0.6, 0.95),
      liver: blood * rng.uniform(0.3, 0.5),
      muscle: blood * rng.uniform(0.2, 0.35),
      lung: blood * rng.uniform(0.02, 0.08),
      marrow: blood * rng.uniform(0.4, 0.7),
      snr: rng.uniform(8, 25),
      bias: rng.uniform(0.1, 0.45),
      biasDirection: normalize([rng.normal(), rng.normal(), rng.normal()]),
    },
  };
}
