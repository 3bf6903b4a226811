/**
 * Sampling the frame of the abdomen: body wall, spine, ribs, diaphragm, back muscles, aorta and
 * IVC. Ranges are adult anatomy; where one real subject was measured (the TotalSegmentator
 * sample, relative to its vertebral body centre: skin 110 mm behind and 155 mm in front of it,
 * half-width 165 mm, subcutaneous fat 12-33 mm, aorta centre 16 mm left and 28 mm anterior,
 * diameter ~18 mm at 3 mm pixels, IVC centre 19 mm right and 38 mm anterior, psoas beside the
 * vertebral body, erector spinae centred 45 mm lateral and 62 mm posterior, vertebral levels
 * 30-31 mm apart) the ranges contain it.
 */
import type { Random } from "../../random.js";
import type { AbdomenSubject, Body, Rib, RibCage, Spine } from "./subject.js";

export function sampleBody(rng: Random): Body {
  // Sample the muscle-lined cavity first (organs must fit in it), then wall and fat outside it:
  // obesity thickens the fat, not the organs.
  const inner = { halfWidth: rng.uniform(118, 145), anterior: rng.uniform(105, 135), posterior: rng.uniform(78, 92) };
  const wall = rng.uniform(8, 14);
  const wallPosterior = rng.uniform(3, 6);
  const fatLateral = rng.uniform(8, 35);
  const fatAnterior = rng.uniform(10, 45);
  const fatPosterior = rng.uniform(12, 38);
  return {
    halfWidth: inner.halfWidth + wall + fatLateral,
    anterior: inner.anterior + wall + fatAnterior,
    posterior: inner.posterior + wallPosterior + fatPosterior,
    squarenessAnterior: rng.uniform(0.1, 0.5),
    squarenessPosterior: rng.uniform(0.5, 0.95),
    fatLateral,
    fatAnterior,
    fatPosterior,
    wall,
    wallPosterior,
  };
}

/** Lumbar vertebral bodies: ~45 mm wide, ~32 mm deep, ~30 mm per level with the disc. */
export function sampleSpine(rng: Random): Spine {
  return {
    levelHeight: rng.uniform(28, 33),
    discFraction: rng.uniform(0.2, 0.28),
    bodyHalfWidth: rng.uniform(20, 25),
    bodyHalfDepth: rng.uniform(14, 17),
    // The cortical shell is under 1 mm thick; at ~1 mm scanner resolution it shows as a 1-1.5 mm rim.
    cortex: rng.uniform(0.8, 1.5),
    canalRadius: rng.uniform(8, 10),
    archThickness: rng.uniform(5, 7),
    spinousLength: rng.uniform(28, 38),
    transverseHalfSpan: rng.uniform(35, 45),
  };
}

/**
 * Ribs 7-12 on each side, sampled independently per side. Each runs from beside its vertebra
 * around the inside of the body wall, descending as it goes forward: the 10th rib's front end
 * forms the lowest point of the costal margin near L2-L3, about 150 mm below its head; the
 * floating ribs 11 and 12 end in the flank.
 */
const RIB_END: Record<number, [number, number]> = { 7: [2.5, 2.8], 8: [2.4, 2.7], 9: [2.25, 2.55], 10: [2.05, 2.35], 11: [1.4, 1.8], 12: [0.9, 1.3] };

export function sampleRibs(rng: Random, body: Body): { left: RibCage; right: RibCage } {
  const innerHalfWidth = body.halfWidth - body.fatLateral - body.wall;
  const innerAnterior = body.anterior - body.fatAnterior - body.wall;
  const innerPosterior = body.posterior - body.fatPosterior - body.wallPosterior;
  const centreY = (innerAnterior - innerPosterior) / 2;
  const side = (): RibCage => ({
    halfWidth: innerHalfWidth - rng.uniform(3, 8),
    centreY,
    posterior: centreY + rng.uniform(45, 58),
    anterior: innerAnterior - centreY - rng.uniform(3, 8),
    ribs: [7, 8, 9, 10, 11, 12].map((vertebra): Rib => ({
      vertebra,
      start: rng.uniform(0.35, 0.5),
      end: rng.uniform(...RIB_END[vertebra]),
      drop: rng.uniform(65, 90),
      halfHeight: rng.uniform(5, 7),
      halfThickness: rng.uniform(3, 4.5),
    })),
  });
  return { left: side(), right: side() };
}

/**
 * Domes at about T10 (the right one 5-25 mm higher, pushed up by the liver); the posterior and
 * lateral costophrenic recesses reach 50-70 mm lower (`recess`: drop in mm per (100 mm)^2 of
 * distance from the dome).
 */
export function sampleDiaphragm(rng: Random, organShift: number): AbdomenSubject["diaphragm"] {
  const domeRight = rng.uniform(95, 125) + organShift;
  return { domeRight, domeLeft: domeRight - rng.uniform(5, 25), recess: rng.uniform(0.45, 0.7) };
}

export function sampleMuscles(rng: Random, spine: Spine): AbdomenSubject["muscles"] {
  // Psoas starts at T12/L1 and thickens downwards to 35-50 mm across at L4.
  const psoas = () => ({ radius: rng.uniform(17, 26), top: 1.5 * spine.levelHeight - rng.uniform(0, 25), y: rng.uniform(-8, 2) });
  const paraspinal = (): [number, number, number, number] => [rng.uniform(35, 45), -rng.uniform(50, 60), rng.uniform(28, 38), rng.uniform(18, 26)];
  const quadratus = (): [number, number, number, number, number] => [rng.uniform(58, 70), -rng.uniform(32, 45), rng.uniform(12, 18), rng.uniform(7, 10), rng.uniform(5, 30)];
  return { psoas: { left: psoas(), right: psoas() }, paraspinal: { left: paraspinal(), right: paraspinal() }, quadratus: { left: quadratus(), right: quadratus() } };
}

/**
 * Abdominal aorta 18-25 mm across, just left of the midline on the front of the vertebral
 * bodies, tapering towards its bifurcation at about L4; the IVC to the right of the midline and
 * in front of the aorta, oval (flattened front to back).
 */
export function sampleVessels(rng: Random, spine: Spine): Pick<AbdomenSubject, "aorta" | "ivc"> {
  const radius = rng.uniform(9, 12.5);
  return {
    aorta: {
      x: -rng.uniform(8, 20),
      y: spine.bodyHalfDepth + radius + rng.uniform(1, 5),
      radius,
      taper: rng.uniform(0, 0.15),
      bifurcation: -2.5 * spine.levelHeight + rng.uniform(-15, 15),
    },
    ivc: { x: rng.uniform(18, 30), y: spine.bodyHalfDepth + rng.uniform(14, 28), halfWidth: rng.uniform(11, 15), halfDepth: rng.uniform(7, 11) },
  };
}
