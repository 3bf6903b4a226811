/**
 * Point tests for the frame of the abdomen: body layers (skin, subcutaneous fat, muscle wall),
 * vertebrae, ribs, back muscles, aorta, IVC, and the diaphragm with the lung bases above it.
 * Subject frame (mm): x right, y anterior, z superior, origin at the L1/L2 vertebral body centre.
 */
import type { Part } from "./part.js";
import type { AbdomenSubject, Body, RibCage, Spine } from "./subject.js";
import { T } from "./tissues.js";

/**
 * The body cross-section: an ellipse (squareness 0) blended with a power-4 superellipse
 * (squareness 1), the back flatter than the front. <= 1 inside. `inset` shrinks it by the layer
 * thicknesses: 0 skin, 1 inside the subcutaneous fat, 2 inside the muscle wall.
 */
export function bodyContour(b: Body, inset: 0 | 1 | 2): (x: number, y: number) => number {
  const a = b.halfWidth - (inset >= 1 ? b.fatLateral : 0) - (inset === 2 ? b.wall : 0);
  const ant = b.anterior - (inset >= 1 ? b.fatAnterior : 0) - (inset === 2 ? b.wall : 0);
  const post = b.posterior - (inset >= 1 ? b.fatPosterior : 0) - (inset === 2 ? b.wallPosterior : 0);
  const yc = (ant - post) / 2;
  const half = (ant + post) / 2;
  const sA = b.squarenessAnterior;
  const sP = b.squarenessPosterior;
  return (x, y) => {
    const dy = y - yc;
    const X = (x / a) * (x / a);
    const Y = (dy / half) * (dy / half);
    const s = dy >= 0 ? sA : sP;
    return (1 - s) * (X + Y) + s * Math.sqrt(X * X + Y * Y);
  };
}

/** Centre of the skin outline in y (subject frame): the body is centred on the table there. */
export const bodyCentreY = (b: Body): number => (b.anterior - b.posterior) / 2;

/** Lower vertebrae are larger: widths grow ~15% per 100 mm downwards. */
const growth = (z: number): number => 1 - 0.0015 * z;

/**
 * Vertebrae: body (cortical shell around marrow) with discs between levels, the canal, and the
 * arch (pedicles and laminae around the canal, spinous process, lumbar transverse processes).
 */
export function spinePart(s: Spine): Part {
  const h = s.levelHeight;
  const halfDisc = s.discFraction / 2;
  const reachX = Math.max(s.transverseHalfSpan, 1.5 * s.bodyHalfWidth);
  const canalOffset = 1.3 * s.bodyHalfDepth + s.canalRadius + 1;
  return {
    name: "spine",
    box: { x0: -reachX, x1: reachX, y0: -(canalOffset + s.canalRadius + s.spinousLength + 5), y1: 1.4 * s.bodyHalfDepth, z0: -Infinity, z1: Infinity },
    at(z) {
      const t = z / h;
      const f = t - Math.floor(t); // position within the level: 0 and 1 are disc centres
      const bone = f > halfDisc && f < 1 - halfDisc;
      const endplate = bone ? Math.min(f - halfDisc, 1 - halfDisc - f) * h : 0;
      const g = growth(z);
      const hw = s.bodyHalfWidth * g;
      const hd = s.bodyHalfDepth * g;
      const cy = -(hd + s.canalRadius + 1);
      const spinous = bone && f > 0.3;
      // Transverse processes: long in the lumbar spine (below T12, level index <= 0).
      const transverse = bone && z < h && f > 0.35 && f < 0.75;
      return (x, y) => {
        const e = (x / hw) * (x / hw) + (y / hd) * (y / hd);
        if (e <= 1) {
          if (!bone) return T.disc;
          const rim = (1 - Math.sqrt(e)) * Math.min(hw, hd);
          return rim < s.cortex || endplate < s.cortex ? T.vertebral_cortex : T.vertebral_marrow;
        }
        const dy = y - cy;
        const rc = Math.sqrt(x * x + dy * dy);
        if (rc <= s.canalRadius) return T.spinal_canal;
        if (!bone) return 0;
        if (rc <= s.canalRadius + s.archThickness && dy <= s.canalRadius) return T.vertebral_arch;
        const ax = Math.abs(x);
        const below = cy - s.canalRadius - y;
        if (spinous && ax <= 4 && below >= 0 && below <= s.spinousLength) return T.vertebral_arch;
        if (transverse && Math.abs(dy) <= 5 && ax <= s.transverseHalfSpan) return T.vertebral_arch;
        return 0;
      };
    },
  };
}

/** Ribs of one side: bands along the cage's path ellipse, descending as they run forward. */
export function ribsPart(cage: RibCage, spine: Spine, side: 1 | -1): Part {
  const maxThick = Math.max(...cage.ribs.map((r) => r.halfThickness));
  const heads = cage.ribs.map((r) => (13 - r.vertebra + 0.8) * spine.levelHeight);
  const lows = cage.ribs.map((r, n) => heads[n] - r.drop * (r.end - r.start));
  const x1 = cage.halfWidth + maxThick + 2;
  return {
    name: side > 0 ? "ribs right" : "ribs left",
    box: {
      x0: side > 0 ? 0 : -x1,
      x1: side > 0 ? x1 : 0,
      y0: cage.centreY - cage.posterior - maxThick - 2,
      y1: cage.centreY + cage.anterior + maxThick + 2,
      z0: Math.min(...lows) - 10,
      z1: Math.max(...heads) + 10,
    },
    at(z) {
      // Per rib, the range of path angles where it can cross this plane, and its height there.
      const here = cage.ribs
        .map((r, n) => ({ r, head: heads[n], lo: Math.max(r.start, r.start + (heads[n] - z - r.halfHeight) / r.drop), hi: Math.min(r.end, r.start + (heads[n] - z + r.halfHeight) / r.drop) }))
        .filter((c) => c.lo <= c.hi);
      if (here.length === 0) return null;
      return (x, y) => {
        const ax = side * x;
        const dy = y - cage.centreY;
        const X = ax / cage.halfWidth;
        const Y = dy / (dy < 0 ? cage.posterior : cage.anterior);
        const e = Math.sqrt(X * X + Y * Y);
        if (e === 0) return 0;
        // Distance to the path ellipse along the ray from its centre: |p| (e - 1) / e.
        const radial = (Math.sqrt(ax * ax + dy * dy) * (e - 1)) / e;
        if (Math.abs(radial) > maxThick) return 0;
        const phi = Math.atan2(X, -Y); // 0 at the back, pi/2 at the side, pi in front
        for (const { r, head, lo, hi } of here) {
          if (phi < lo || phi > hi) continue;
          const dz = z - (head - r.drop * (phi - r.start));
          if ((radial / r.halfThickness) ** 2 + (dz / r.halfHeight) ** 2 <= 1) return T.rib;
        }
        return 0;
      };
    },
  };
}

/** An elliptic cylinder of muscle whose half-axes (mm) depend on z; null where it is absent. */
function muscleColumn(name: string, box: Part["box"], ellipse: (z: number) => [cx: number, cy: number, ax: number, ay: number] | null): Part {
  return {
    name,
    box,
    at(z) {
      const e = ellipse(z);
      if (!e) return null;
      const [cx, cy, ax, ay] = e;
      return (x, y) => (((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1 ? T.muscle : 0);
    },
  };
}

/** Erector spinae (all levels), psoas (from T12/L1 down, thickening) and quadratus lumborum, each side. */
export function backMuscleParts(m: AbdomenSubject["muscles"], spine: Spine): Part[] {
  const parts: Part[] = [];
  for (const [side, name] of [[1, "right"], [-1, "left"]] as const) {
    const p = m.paraspinal[name];
    const psoas = m.psoas[name];
    const q = m.quadratus[name];
    const xr = (lo: number, hi: number) => (side > 0 ? { x0: lo, x1: hi } : { x0: -hi, x1: -lo });
    parts.push(muscleColumn(`erector spinae ${name}`, { ...xr(p[0] - p[2], p[0] + p[2]), y0: p[1] - p[3], y1: p[1] + p[3], z0: -Infinity, z1: Infinity }, () => [side * p[0], p[1], p[2], p[3]]));
    const psoasReach = 1.4 * spine.bodyHalfWidth + 1.8 * psoas.radius;
    parts.push(muscleColumn(`psoas ${name}`, { ...xr(0, psoasReach), y0: psoas.y - 1.1 * psoas.radius, y1: psoas.y + 1.1 * psoas.radius, z0: -Infinity, z1: psoas.top }, (z) => {
      if (z >= psoas.top) return null;
      const r = psoas.radius * Math.min(1, (psoas.top - z) / 120) ** 0.6;
      return [side * (spine.bodyHalfWidth * growth(z) + 0.8 * r), psoas.y, r, 1.1 * r];
    }));
    parts.push(muscleColumn(`quadratus lumborum ${name}`, { ...xr(q[0] - q[2], q[0] + q[2]), y0: q[1] - q[3], y1: q[1] + q[3], z0: -Infinity, z1: q[4] }, (z) => {
      if (z >= q[4]) return null;
      const k = Math.max(0.3, Math.min(1, (q[4] - z) / 60));
      return [side * q[0], q[1], q[2] * k, q[3] * k];
    }));
  }
  return parts;
}

/**
 * Aorta tapering down to its bifurcation into the common iliac arteries (diverging ~25 degrees
 * each way); IVC bending forward above the kidneys as it runs through the liver to the heart.
 */
export function vesselParts(s: AbdomenSubject): Part[] {
  const { aorta, ivc } = s;
  const spread = Math.tan((25 * Math.PI) / 180);
  const radiusAt = (z: number) => aorta.radius * (1 - aorta.taper * Math.max(0, Math.min(1, (60 - z) / 130)));
  const iliac = 0.65 * radiusAt(aorta.bifurcation);
  return [
    {
      name: "aorta",
      box: { x0: aorta.x - 150, x1: aorta.x + 150, y0: aorta.y - aorta.radius, y1: aorta.y + aorta.radius, z0: -Infinity, z1: Infinity },
      at(z) {
        const ay = aorta.y;
        if (z >= aorta.bifurcation) {
          const r2 = radiusAt(z) ** 2;
          return (x, y) => ((x - aorta.x) ** 2 + (y - ay) ** 2 <= r2 ? T.aorta : 0);
        }
        const off = (aorta.bifurcation - z) * spread;
        const i2 = iliac * iliac;
        return (x, y) => ((x - aorta.x - off) ** 2 + (y - ay) ** 2 <= i2 || (x - aorta.x + off) ** 2 + (y - ay) ** 2 <= i2 ? T.aorta : 0);
      },
    },
    {
      name: "ivc",
      box: { x0: ivc.x - ivc.halfWidth, x1: ivc.x + ivc.halfWidth, y0: ivc.y - ivc.halfDepth, y1: Infinity, z0: -Infinity, z1: Infinity },
      at(z) {
        const iy = ivc.y + 0.25 * Math.max(0, z - 40);
        return (x, y) => (((x - ivc.x) / ivc.halfWidth) ** 2 + ((y - iy) / ivc.halfDepth) ** 2 <= 1 ? T.ivc : 0);
      },
    },
  ];
}

/**
 * The diaphragm (5 mm of muscle) and the lung bases above it. Its height falls from each dome
 * towards the recesses: most behind (the posterior costophrenic recess is the deepest), less at
 * the side, little in front; between the domes it blends over 80 mm. Above it, near the
 * midline, lie the heart and the crura: soft tissue (muscle), not lung.
 */
export function diaphragmPart(d: AbdomenSubject["diaphragm"], body: Body): Part {
  const span = body.halfWidth + body.posterior + body.anterior;
  const top = (x: number, y: number): number => {
    const blend = Math.max(0, Math.min(1, (x + 40) / 80));
    const dome = d.domeLeft + (d.domeRight - d.domeLeft) * blend * blend * (3 - 2 * blend);
    const lateral = Math.max(0, Math.abs(x) - 50);
    const posterior = Math.max(0, 20 - y);
    const anterior = Math.max(0, y - 60);
    return dome - (d.recess * (0.5 * lateral * lateral + posterior * posterior + 0.3 * anterior * anterior)) / 100;
  };
  return {
    name: "diaphragm and lungs",
    box: { x0: -body.halfWidth, x1: body.halfWidth, y0: -body.posterior, y1: body.anterior, z0: Math.min(d.domeLeft, d.domeRight) - (d.recess * span * span) / 100, z1: Infinity },
    at(z) {
      return (x, y) => {
        const t = top(x, y);
        if (z < t) return 0;
        return z < t + 5 || Math.abs(x) < 40 ? T.muscle : T.lung;
      };
    },
  };
}
