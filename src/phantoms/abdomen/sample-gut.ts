/**
 * Sampling the hollow viscera and the pancreas as tubes (chains of capsules): stomach (J-shaped,
 * fundus under the left dome), duodenal C-loop, pancreas (head in the C-loop, tail at the
 * splenic hilum), colon frame (ascending, transverse, descending) and small-bowel loops as a
 * random walk in the mid and lower abdomen. Gas floats: the patient lies supine, so gas sits on
 * the anterior (high y) side of each lumen, above a level drawn per subject.
 */
import { add, normalize, scale, type Vec3 } from "../../geometry/vec.js";
import type { Random } from "../../random.js";
import { randomDirection, sampleWaves, type Tube } from "./shapes.js";
import type { AbdomenSubject, Body } from "./subject.js";

type Gut = Pick<AbdomenSubject, "stomach" | "pancreas" | "bowel" | "textures">;

export function sampleGut(rng: Random, body: Body, diaphragm: AbdomenSubject["diaphragm"]): Gut {
  const u = (lo: number, hi: number) => rng.uniform(lo, hi);
  // Stomach: distension varies a lot (empty to after a meal).
  const distension = u(0.75, 1.15);
  const fundus: Vec3 = [-u(55, 75), u(-5, 15), diaphragm.domeLeft - u(25, 40)];
  const body_: Vec3 = [-u(45, 65), u(35, 55), fundus[2] - u(30, 45)];
  const antrum: Vec3 = [-u(0, 25), u(65, 85), body_[2] - u(20, 35)];
  const pylorus: Vec3 = [u(15, 30), u(60, 75), antrum[2] + u(-5, 10)];
  const stomach: Tube = {
    points: [fundus, body_, antrum, pylorus],
    radii: [u(30, 42), u(28, 38), u(18, 26), u(9, 12)].map((r) => r * distension),
  };
  // Duodenum: bulb, descending part right of the pancreatic head, horizontal part crossing in
  // front of the aorta and IVC, up to the duodenojejunal flexure left of the midline.
  const d1: Vec3 = [u(35, 50), u(55, 70), pylorus[2] + u(0, 10)];
  const d2: Vec3 = [u(45, 60), u(35, 50), d1[2] - u(25, 35)];
  const d3: Vec3 = [u(30, 45), u(50, 60), d2[2] - u(20, 30)];
  const d4: Vec3 = [u(-10, 10), u(50, 60), d3[2] - u(0, 10)];
  const dj: Vec3 = [-u(20, 35), u(50, 65), d4[2] + u(10, 20)];
  const duodenum: Tube = { points: [pylorus, d1, d2, d3, d4, dj], radii: [u(9, 12), u(12, 15), u(10, 14), u(10, 13), u(10, 13), u(10, 13)] };
  // Pancreas: 12-15 cm long, head 25-35 mm thick, body and tail 15-25 mm (40-80 ml in adults,
  // less with age; the real sample's measures 17 ml).
  const head: Vec3 = [u(25, 40), u(45, 60), d2[2] + u(5, 15)];
  const neck: Vec3 = [u(0, 15), u(55, 70), head[2] + u(5, 15)];
  const tailBody: Vec3 = [-u(20, 40), u(50, 65), neck[2] + u(5, 10)];
  const tail: Vec3 = [-u(65, 85), u(10, 30), tailBody[2] + u(5, 15)];
  const pancreas: Tube = { points: [head, neck, tailBody, tail], radii: [u(14, 19), u(8, 11), u(9, 12), u(8, 11)] };
  // Colon frame: caecum and ascending colon in the right flank, hepatic flexure under the
  // liver, transverse colon hanging forward, splenic flexure high on the left, descending colon.
  const j = () => u(-10, 10);
  const colon: Tube = {
    points: [
      [95 + j(), 25 + j(), -115 + j()],
      [100 + j(), 30 + j(), -30 + j()],
      [80 + j(), 60 + j(), 5 + j()],
      [30 + j(), 100 + j(), -15 + j()],
      [-40 + j(), 100 + j(), -20 + j()],
      [-90 + j(), 50 + j(), 35 + j()],
      [-100 + j(), 15 + j(), -20 + j()],
      [-95 + j(), 10 + j(), -115 + j()],
    ],
    radii: [u(24, 30), u(22, 28), u(20, 25), u(18, 25), u(18, 24), u(16, 22), u(14, 20), u(14, 20)],
  };
  const small = sampleSmallBowel(rng, body);
  return {
    stomach: { tube: stomach, wall: u(3, 5), gasAbove: u(50, 120) },
    // Fatty replacement of the pancreas grows with age and weight, from almost none to about
    // half the gland in the elderly (the real sample's pancreas label averages -8 HU).
    pancreas: { tube: pancreas, fatFraction: u(0.02, 0.4) },
    bowel: { duodenum, colon, small, wall: u(2, 3), colonGasAbove: u(60, 125), smallGasAbove: u(80, 160), stoolGasFraction: u(0.05, 0.3) },
    // Stool is mottled at the scale of a few mm; pancreatic lobules are smaller.
    textures: { stool: sampleWaves(rng, [8, 14]), pancreas: sampleWaves(rng, [5, 8]) },
  };
}

/**
 * Small bowel: two continuous random walks, jejunum in the left upper and mid abdomen, ileum in
 * the right lower abdomen, each 18-26 steps of 22-35 mm (radius 11-15 mm, 2.5-3 cm loops),
 * turning by up to ~64 degrees per step and reflected at the walls of its box (in front of the
 * kidneys, inside the muscle wall).
 */
function sampleSmallBowel(rng: Random, body: Body): Tube[] {
  const front = Math.max(60, body.anterior - body.fatAnterior - body.wall - 15);
  const side = Math.max(60, body.halfWidth - body.fatLateral - body.wall - 30);
  const boxes: [Vec3, Vec3][] = [
    [[-side, 15, -75], [30, front, 5]],
    [[-30, 10, -135], [side, front, -40]],
  ];
  return boxes.map(([lo, hi]) => {
    let p: Vec3 = [0, 1, 2].map((a) => rng.uniform(lo[a] + 0.3 * (hi[a] - lo[a]), hi[a] - 0.3 * (hi[a] - lo[a]))) as Vec3;
    let dir = randomDirection(rng);
    const points: Vec3[] = [p];
    const radii: number[] = [rng.uniform(11, 15)];
    const steps = rng.int(18, 26);
    for (let s = 0; s < steps; s++) {
      // Adding a random vector of length 0.9 turns the unit direction by at most ~64 degrees.
      dir = normalize(add(dir, scale(randomDirection(rng), 0.9)));
      const next = add(p, scale(dir, rng.uniform(22, 35)));
      for (let a = 0; a < 3; a++) {
        if (next[a] < lo[a] || next[a] > hi[a]) {
          next[a] = next[a] < lo[a] ? 2 * lo[a] - next[a] : 2 * hi[a] - next[a];
          dir[a] = -dir[a];
        }
      }
      points.push(next);
      radii.push(rng.uniform(11, 15));
      p = next;
    }
    return { points, radii };
  });
}
