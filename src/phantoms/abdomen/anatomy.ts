/**
 * What tissue sits at a world point of a synthetic abdominal subject. The anatomy is analytic, so
 * any grid can be sampled at any resolution, and sub-voxel samples give true partial volume.
 *
 * Order of the tests, first answer wins: outside the skin (air), subcutaneous fat, bones (spine,
 * ribs: they lie in the muscle wall), the muscle wall, then the parts inside the cavity in
 * priority order, and visceral fat wherever nothing else is.
 */
import type { Vec3 } from "../../geometry/vec.js";
import { backMuscleParts, bodyCentreY, bodyContour, diaphragmPart, ribsPart, spinePart, vesselParts } from "./anatomy-frame.js";
import { bowelPart, pancreasPart, stomachPart } from "./anatomy-gut.js";
import { blobPart, kidneyPart, liverPart, tumorPart } from "./anatomy-organs.js";
import type { Part, PlaneTest } from "./part.js";
import type { AbdomenSubject } from "./subject.js";
import { T } from "./tissues.js";

/**
 * In-plane points prepared once for every plane: their subject-frame x, y and body layer (0
 * outside the skin, 1 subcutaneous fat, 2 muscle wall, 3 inside the cavity). The body outline
 * does not change along z, so this is the z-independent half of the work.
 */
export interface PlanePoints {
  x: Float64Array;
  y: Float64Array;
  layer: Uint8Array;
}

export interface AbdomenAnatomy {
  points(xWorld: ArrayLike<number>, yWorld: ArrayLike<number>): PlanePoints;
  /** Tissue code of point `index` of `pts` on the axial plane at world z. */
  plane(zWorld: number): (pts: PlanePoints, index: number) => number;
  /** Tissue code at one world point (slow: for probes and tests). */
  tissueAt(x: number, y: number, z: number): number;
  /** World (RAS mm) position of a point given in the subject frame. */
  subjectToWorld(p: Vec3): Vec3;
}

/** Cell grid over the subject frame: CELL mm squares from (X0, Y0); points beyond it use edge cells. */
const CELL = 20;
const X0 = -260;
const Y0 = -220;
const NX = 26;
const NY = 25;

const cellOf = (v: number, v0: number, n: number): number => {
  const c = Math.floor((v - v0) / CELL);
  return c < 0 ? 0 : c >= n ? n - 1 : c;
};

const cellRange = (lo: number, hi: number, v0: number, n: number): [number, number] => [cellOf(Math.max(lo, -1e6), v0, n), cellOf(Math.min(hi, 1e6), v0, n)];

export function makeAbdomenAnatomy(s: AbdomenSubject): AbdomenAnatomy {
  const skin = bodyContour(s.body, 0);
  const fatInner = bodyContour(s.body, 1);
  const wallInner = bodyContour(s.body, 2);
  const before: Part[] = [spinePart(s.spine), ribsPart(s.ribs.right, s.spine, 1), ribsPart(s.ribs.left, s.spine, -1)];
  const after: Part[] = [
    ...backMuscleParts(s.muscles, s.spine),
    ...vesselParts(s),
    ...(s.tumor ? [tumorPart(s.tumor)] : []),
    kidneyPart(s.kidneys.left, "left"),
    kidneyPart(s.kidneys.right, "right"),
    diaphragmPart(s.diaphragm, s.body),
    ...(s.gallbladder ? [blobPart("gallbladder", s.gallbladder, T.gallbladder)] : []),
    liverPart(s.liver.right, s.liver.left),
    blobPart("spleen", s.spleen, T.spleen),
    // The retroperitoneal pancreas keeps its shape; the stomach in front of it gives way.
    pancreasPart(s.pancreas, s.textures),
    stomachPart(s.stomach),
    bowelPart(s.bowel, s.textures),
  ];
  // The body centre (0, yc) of the subject frame lands on `shift`, turned by `roll` about z.
  const yc = bodyCentreY(s.body);
  const [sx, sy, sz] = s.placement.shift;
  const cos = Math.cos(s.placement.roll);
  const sin = Math.sin(s.placement.roll);

  const points = (xw: ArrayLike<number>, yw: ArrayLike<number>): PlanePoints => {
    const n = xw.length;
    const pts = { x: new Float64Array(n), y: new Float64Array(n), layer: new Uint8Array(n) };
    for (let i = 0; i < n; i++) {
      const dx = xw[i] - sx;
      const dy = yw[i] - sy;
      const x = (pts.x[i] = cos * dx + sin * dy);
      const y = (pts.y[i] = -sin * dx + cos * dy + yc);
      pts.layer[i] = skin(x, y) > 1 ? 0 : fatInner(x, y) > 1 ? 1 : wallInner(x, y) > 1 ? 2 : 3;
    }
    return pts;
  };

  /**
   * The plane tests of the parts present at z, binned into CELL mm squares of the subject frame:
   * each cell lists, in priority order, the parts whose box reaches it, so a point looks at a
   * few parts instead of all of them.
   */
  const binned = (parts: Part[], z: number): PlaneTest[][] => {
    const cells: PlaneTest[][] = Array.from({ length: NX * NY }, () => []);
    for (const p of parts) {
      if (z < p.box.z0 || z > p.box.z1) continue;
      const test = p.at(z);
      if (!test) continue;
      const [i0, i1] = cellRange(p.box.x0, p.box.x1, X0, NX);
      const [j0, j1] = cellRange(p.box.y0, p.box.y1, Y0, NY);
      for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) cells[i + NX * j].push(test);
    }
    return cells;
  };

  const plane = (zWorld: number) => {
    const z = zWorld - sz;
    const pre = binned(before, z);
    const post = binned(after, z);
    return (pts: PlanePoints, i: number): number => {
      const layer = pts.layer[i];
      if (layer === 0) return T.air;
      if (layer === 1) return T.subcutaneous_fat;
      const x = pts.x[i];
      const y = pts.y[i];
      const cell = cellOf(x, X0, NX) + NX * cellOf(y, Y0, NY);
      for (const test of pre[cell]) {
        const t = test(x, y);
        if (t !== 0) return t;
      }
      if (layer === 2) return T.muscle;
      for (const test of post[cell]) {
        const t = test(x, y);
        if (t !== 0) return t;
      }
      return T.visceral_fat;
    };
  };

  const tissueAt = (x: number, y: number, z: number) => plane(z)(points([x], [y]), 0);

  const subjectToWorld = ([x, y, z]: Vec3): Vec3 => {
    const py = y - yc;
    return [cos * x - sin * py + sx, sin * x + cos * py + sy, z + sz];
  };
  return { points, plane, tissueAt, subjectToWorld };
}
