/**
 * A synthetic abdominal CT subject: every number that makes one subject differ from another,
 * drawn from a seed (the same seed gives the same subject). The subject is plain JSON.
 *
 * Subject frame (mm): x to the patient's right, y anterior, z superior (RAS, as world space),
 * origin at the centre of the vertebral body column at the L1/L2 disc, where the renal hila
 * lie. `placement` moves the subject on the table (shift and a small roll); acquire.ts maps the
 * frame into world coordinates with it. Where the numbers come from is said next to each
 * sampler (sample-frame.ts, sample-organs.ts, sample-gut.ts); the real-sample measurements they
 * were checked against are in realism.ts.
 */
import type { Vec3 } from "../../geometry/vec.js";
import { Random } from "../../random.js";
import { sampleBody, sampleDiaphragm, sampleMuscles, sampleRibs, sampleSpine, sampleVessels } from "./sample-frame.js";
import { sampleGut } from "./sample-gut.js";
import { sampleLook } from "./sample-look.js";
import { sampleKidneys, sampleSolidOrgans, sampleTumor } from "./sample-organs.js";
import type { Blob, Tube, Waves } from "./shapes.js";
import type { ContrastPhase, Material } from "./tissues.js";

export interface Body {
  /** Skin outline: half-width, anterior and posterior extents from the spine (y), squareness. */
  halfWidth: number;
  anterior: number;
  posterior: number;
  /** 0 = ellipse, 1 = superellipse of power 4; the back is flatter than the front. */
  squarenessAnterior: number;
  squarenessPosterior: number;
  /** Subcutaneous fat thickness (mm) laterally, anteriorly, posteriorly. */
  fatLateral: number;
  fatAnterior: number;
  fatPosterior: number;
  /** Abdominal wall muscle thickness (mm) laterally/anteriorly, and posteriorly (fascia). */
  wall: number;
  wallPosterior: number;
}

export interface Spine {
  /** Vertebra + disc height (mm); vertebra n (L1 = 0, T12 = 1, L2 = -1 ...) is centred at (n + 0.5) * levelHeight. */
  levelHeight: number;
  discFraction: number;
  bodyHalfWidth: number;
  bodyHalfDepth: number;
  cortex: number;
  canalRadius: number;
  archThickness: number;
  spinousLength: number;
  transverseHalfSpan: number;
}

export interface Rib {
  /** Thoracic vertebra number (7..12) the rib belongs to. */
  vertebra: number;
  /** Angles along the path ellipse, from the posterior midline (radians). */
  start: number;
  end: number;
  /** Descent of the rib (mm per radian) as it runs forward. */
  drop: number;
  halfHeight: number;
  halfThickness: number;
}

export interface RibCage {
  /** Path ellipse of one side: half-width and posterior/anterior extents around y = centreY. */
  halfWidth: number;
  centreY: number;
  posterior: number;
  anterior: number;
  ribs: Rib[];
}

export interface Kidney {
  shape: Blob;
  /** Cortex thickness (mm), size of the renal sinus relative to the kidney, phase of the pyramids. */
  cortex: number;
  sinus: number;
  pyramidPhase: number;
}

export interface Tumor {
  side: "left" | "right";
  shape: Blob;
  /** Normalised radius below which the tumour is necrotic (0 = none). */
  necrosis: number;
}

export interface AbdomenSubject {
  seed: number;
  placement: { shift: Vec3; roll: number };
  body: Body;
  spine: Spine;
  ribs: { left: RibCage; right: RibCage };
  diaphragm: { domeRight: number; domeLeft: number; recess: number };
  muscles: {
    psoas: { left: { radius: number; top: number; y: number }; right: { radius: number; top: number; y: number } };
    paraspinal: { left: [number, number, number, number]; right: [number, number, number, number] };
    quadratus: { left: [number, number, number, number, number]; right: [number, number, number, number, number] };
  };
  aorta: { x: number; y: number; radius: number; taper: number; bifurcation: number };
  ivc: { x: number; y: number; halfWidth: number; halfDepth: number };
  liver: { right: Blob; left: Blob };
  gallbladder: Blob | null;
  spleen: Blob;
  kidneys: { left: Kidney; right: Kidney };
  tumor: Tumor | null;
  stomach: { tube: Tube; wall: number; gasAbove: number };
  /** Share of the pancreas (label) that is fat between lobules; share of stool that is gas pockets. */
  pancreas: { tube: Tube; fatFraction: number };
  bowel: { duodenum: Tube; colon: Tube; small: Tube[]; wall: number; colonGasAbove: number; smallGasAbove: number; stoolGasFraction: number };
  textures: { stool: Waves; pancreas: Waves };
  look: { phase: ContrastPhase; hu: Record<Material, number>; noiseSd: number };
}

export interface SubjectOptions {
  /** Probability that the subject has a renal tumour (default 0.5). */
  tumorProbability?: number;
  /** Contrast phase of the CT (default "native", like the real sample the phantom is measured against). */
  phase?: ContrastPhase;
}

export function sampleAbdomenSubject(seed: number, options: SubjectOptions = {}): AbdomenSubject {
  const rng = new Random(seed);
  // One forked stream per part, drawn in a fixed order: changing one sampler leaves the others'
  // numbers alone.
  const [rPlace, rBody, rSpine, rRibs, rDia, rMus, rVes, rOrg, rKid, rTum, rGut, rLook] = Array.from({ length: 12 }, () => rng.fork());
  const placement = { shift: [rPlace.uniform(-15, 15), rPlace.uniform(-10, 10), rPlace.uniform(-15, 15)] as Vec3, roll: rPlace.uniform(-4, 4) * (Math.PI / 180) };
  const body = sampleBody(rBody);
  const spine = sampleSpine(rSpine);
  // Organs move together relative to the vertebrae (the kidneys' vertebral level varies by about
  // one vertebra between adults).
  const organShift = rOrg.normal(0, 10);
  const diaphragm = sampleDiaphragm(rDia, organShift);
  const kidneys = sampleKidneys(rKid, organShift);
  const tumorProbability = options.tumorProbability ?? 0.5;
  const hasTumor = rTum.next() < tumorProbability;
  return {
    seed,
    placement,
    body,
    spine,
    ribs: sampleRibs(rRibs, body),
    diaphragm,
    muscles: sampleMuscles(rMus, spine),
    ...sampleVessels(rVes, spine),
    ...sampleSolidOrgans(rOrg, diaphragm),
    kidneys,
    tumor: hasTumor ? sampleTumor(rTum, kidneys) : null,
    ...sampleGut(rGut, body, diaphragm),
    look: sampleLook(rLook, options.phase ?? "native"),
  };
}
