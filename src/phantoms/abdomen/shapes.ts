/**
 * The two shape families the abdominal anatomy is built from, as plain data (a subject is
 * JSON), and their compiled point tests:
 * - Blob: an ellipsoid in its own orthonormal frame, optionally bent (the long-axis ends curve
 *   towards -u: a bean or a crescent) and deformed by a few smooth sine ripples of the
 *   normalised radius, so no two organs are the same ellipsoid;
 * - Tube: a chain of capsules with linearly varying radius (bowel, stomach, pancreas), tested by
 *   its signed distance, so a wall of fixed thickness and a lumen come for free.
 * Coordinates are the subject frame (mm): x to the patient's right, y anterior, z superior,
 * origin at the centre of the vertebral body at the L1/L2 disc level (see subject.ts).
 */
import { cross, dot, normalize, scale, sub, type Vec3 } from "../../geometry/vec.js";
import type { Random } from "../../random.js";

/** One term of a blob's deformation: amp * sin(k . (u, v, w) + phase) in normalised units. */
export interface Ripple {
  k: Vec3;
  phase: number;
  amp: number;
}

export interface Blob {
  centre: Vec3;
  /** Semi-axes (mm) along axes[0..2] (u, v, w). */
  semi: Vec3;
  /** Orthonormal local axes u, v, w in subject coordinates. */
  axes: [Vec3, Vec3, Vec3];
  /** Bend: the shape is {(u + bend w^2)^2 + v^2 + w^2 <= 1} before ripples (0 = ellipsoid). */
  bend: number;
  ripples: Ripple[];
}

export interface Tube {
  points: Vec3[];
  /** Radius at each point (mm); linear along each segment. */
  radii: number[];
}

/** Axis-aligned box in subject coordinates. */
export interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  z0: number;
  z1: number;
}

/** `n` ripples of random direction with 1-2 lobes across the organ, amplitudes up to `maxAmp`. */
export function sampleRipples(rng: Random, n: number, maxAmp: number): Ripple[] {
  return Array.from({ length: n }, () => {
    const k = scale(randomDirection(rng), rng.uniform(1.5, 3.5));
    return { k, phase: rng.uniform(0, 2 * Math.PI), amp: rng.uniform(0, maxAmp) };
  });
}

export function randomDirection(rng: Random): Vec3 {
  for (;;) {
    const v: Vec3 = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
    const n = Math.hypot(...v);
    if (n > 0.1 && n <= 1) return scale(v, 1 / n);
  }
}

/** Orthonormal frame with w along `long` and u as close as possible to `across`. */
export function frameFrom(long: Vec3, across: Vec3): [Vec3, Vec3, Vec3] {
  const w = normalize(long);
  const u = normalize(sub(across, scale(w, dot(across, w))));
  return [u, cross(w, u), w];
}

/**
 * A compiled blob. `slice(z)` precomputes what depends on z only and returns null when the blob
 * does not reach z; the slice's `radius` gives the deformed normalised radius (<= 1 inside)
 * and leaves the normalised local coordinates in u, v, w for callers that shade the inside.
 */
export class BlobTest {
  readonly box: Box;
  readonly m: Float64Array;
  readonly c: Vec3;
  readonly bend: number;
  readonly ripples: Ripple[];

  constructor(b: Blob) {
    this.c = b.centre;
    this.bend = b.bend;
    this.ripples = b.ripples;
    // Rows: axis / semi-axis, so m * (p - c) is the normalised local position.
    this.m = Float64Array.from(b.axes.flatMap((a, r) => a.map((x) => x / b.semi[r])));
    // Half-extent of the ellipsoid along each world axis, widened by the bend and ripples.
    const grow = 1 + Math.abs(b.bend) + b.ripples.reduce((s, r) => s + Math.abs(r.amp), 0);
    const half = [0, 1, 2].map((i) => grow * Math.hypot(...b.axes.map((a, r) => a[i] * b.semi[r])));
    this.box = { x0: b.centre[0] - half[0], x1: b.centre[0] + half[0], y0: b.centre[1] - half[1], y1: b.centre[1] + half[1], z0: b.centre[2] - half[2], z1: b.centre[2] + half[2] };
  }

  slice(z: number): BlobSlice | null {
    return z < this.box.z0 || z > this.box.z1 ? null : new BlobSlice(this, z);
  }
}

export class BlobSlice {
  u = 0;
  v = 0;
  w = 0;
  private readonly m: Float64Array;
  private readonly cx: number;
  private readonly cy: number;
  private readonly u0: number;
  private readonly v0: number;
  private readonly w0: number;
  private readonly bend: number;
  private readonly ripples: Ripple[];

  constructor(b: BlobTest, z: number) {
    const dz = z - b.c[2];
    this.m = b.m;
    this.cx = b.c[0];
    this.cy = b.c[1];
    this.u0 = b.m[2] * dz;
    this.v0 = b.m[5] * dz;
    this.w0 = b.m[8] * dz;
    this.bend = b.bend;
    this.ripples = b.ripples;
  }

  radius(x: number, y: number): number {
    const m = this.m;
    const dx = x - this.cx;
    const dy = y - this.cy;
    const u = (this.u = m[0] * dx + m[1] * dy + this.u0);
    const v = (this.v = m[3] * dx + m[4] * dy + this.v0);
    const w = (this.w = m[6] * dx + m[7] * dy + this.w0);
    const ub = u + this.bend * w * w;
    let r = Math.sqrt(ub * ub + v * v + w * w);
    // Far outside no ripple can bring the point in: skip the sines.
    if (r > 2) return r;
    for (const q of this.ripples) r -= q.amp * Math.sin(q.k[0] * u + q.k[1] * v + q.k[2] * w + q.phase);
    return r;
  }
}

/**
 * A compiled tube. `slice(z)` keeps the segments that reach z (null if none); the slice's
 * `distance` is the signed distance (mm, negative inside) to the tube's surface, +Infinity
 * beyond every kept segment's box.
 */
export class TubeTest {
  readonly box: Box;
  /** Per segment: ax ay az, dx dy dz, 1/|d|^2, r0, dr. */
  readonly seg: Float64Array;
  /** Per segment: x0 x1 y0 y1 z0 z1. */
  readonly boxes: Float64Array;
  readonly n: number;

  constructor(t: Tube) {
    this.n = t.points.length - 1;
    this.seg = new Float64Array(this.n * 9);
    this.boxes = new Float64Array(this.n * 6);
    const all = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
    for (let s = 0; s < this.n; s++) {
      const a = t.points[s];
      const b = t.points[s + 1];
      const d = sub(b, a);
      this.seg.set([...a, ...d, 1 / Math.max(dot(d, d), 1e-9), t.radii[s], t.radii[s + 1] - t.radii[s]], s * 9);
      const r = Math.max(t.radii[s], t.radii[s + 1]);
      for (let c = 0; c < 3; c++) {
        const lo = Math.min(a[c], b[c]) - r;
        const hi = Math.max(a[c], b[c]) + r;
        this.boxes[s * 6 + 2 * c] = lo;
        this.boxes[s * 6 + 2 * c + 1] = hi;
        all[2 * c] = Math.min(all[2 * c], lo);
        all[2 * c + 1] = Math.max(all[2 * c + 1], hi);
      }
    }
    this.box = { x0: all[0], x1: all[1], y0: all[2], y1: all[3], z0: all[4], z1: all[5] };
  }

  slice(z: number): TubeSlice | null {
    const keep: number[] = [];
    for (let s = 0; s < this.n; s++) if (z >= this.boxes[s * 6 + 4] && z <= this.boxes[s * 6 + 5]) keep.push(s);
    return keep.length === 0 ? null : new TubeSlice(this, keep, z);
  }
}

export class TubeSlice {
  readonly box: Box;
  private readonly seg: Float64Array; // per kept segment: ax ay, dx dy dz, 1/|d|^2, r0, dr, pz
  private readonly boxes: Float64Array; // per kept segment: x0 x1 y0 y1
  private readonly n: number;

  constructor(t: TubeTest, keep: number[], z: number) {
    this.n = keep.length;
    this.seg = new Float64Array(this.n * 9);
    this.boxes = new Float64Array(this.n * 4);
    keep.forEach((s, i) => {
      const q = s * 9;
      const a = t.seg;
      this.seg.set([a[q], a[q + 1], a[q + 3], a[q + 4], a[q + 5], a[q + 6], a[q + 7], a[q + 8], z - a[q + 2]], i * 9);
      this.boxes.set(t.boxes.subarray(s * 6, s * 6 + 4), i * 4);
    });
    this.box = {
      x0: Math.min(...keep.map((s) => t.boxes[s * 6])),
      x1: Math.max(...keep.map((s) => t.boxes[s * 6 + 1])),
      y0: Math.min(...keep.map((s) => t.boxes[s * 6 + 2])),
      y1: Math.max(...keep.map((s) => t.boxes[s * 6 + 3])),
      z0: z,
      z1: z,
    };
  }

  distance(x: number, y: number): number {
    let best = Infinity;
    const s = this.seg;
    const b = this.boxes;
    for (let i = 0; i < this.n; i++) {
      const o = i * 4;
      if (x < b[o] || x > b[o + 1] || y < b[o + 2] || y > b[o + 3]) continue;
      const q = i * 9;
      const px = x - s[q];
      const py = y - s[q + 1];
      const pz = s[q + 8];
      let t = (px * s[q + 2] + py * s[q + 3] + pz * s[q + 4]) * s[q + 5];
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - t * s[q + 2];
      const ey = py - t * s[q + 3];
      const ez = pz - t * s[q + 4];
      const d = Math.sqrt(ex * ex + ey * ey + ez * ez) - (s[q + 6] + t * s[q + 7]);
      if (d < best) best = d;
    }
    return best;
  }
}

/** Smooth pseudo-random pattern in [-1, 1]: a product of three plane waves (mottled stool, lobulated fat). */
export interface Waves {
  k: [Vec3, Vec3, Vec3];
  phase: [number, number, number];
}

export function sampleWaves(rng: Random, wavelengthMm: [number, number]): Waves {
  const k = [0, 1, 2].map(() => scale(randomDirection(rng), (2 * Math.PI) / rng.uniform(...wavelengthMm))) as [Vec3, Vec3, Vec3];
  return { k, phase: [rng.uniform(0, 6.3), rng.uniform(0, 6.3), rng.uniform(0, 6.3)] };
}

/**
 * The level of `wavesAt` exceeded by a `fraction` of all points (0..0.5), so a texture can cover
 * a chosen share of an organ. Quantiles of the product of three sines with independent uniform
 * phases (2 million draws, numpy).
 */
const WAVE_QUANTILES: [fraction: number, level: number][] = [[0, 1], [0.02, 0.792], [0.05, 0.639], [0.1, 0.468], [0.2, 0.254], [0.3, 0.122], [0.4, 0.041], [0.5, 0]];

export function wavesLevel(fraction: number): number {
  if (!(fraction >= 0 && fraction <= 0.5)) throw new Error(`wavesLevel: fraction must be in [0, 0.5], got ${fraction}`);
  for (let i = 1; i < WAVE_QUANTILES.length; i++) {
    const [f1, l1] = WAVE_QUANTILES[i];
    if (fraction <= f1) {
      const [f0, l0] = WAVE_QUANTILES[i - 1];
      return l0 + ((fraction - f0) / (f1 - f0)) * (l1 - l0);
    }
  }
  return 0;
}

export function wavesAt(w: Waves, x: number, y: number, z: number): number {
  const [a, b, c] = w.k;
  return (
    Math.sin(a[0] * x + a[1] * y + a[2] * z + w.phase[0]) *
    Math.sin(b[0] * x + b[1] * y + b[2] * z + w.phase[1]) *
    Math.sin(c[0] * x + c[1] * y + c[2] * z + w.phase[2])
  );
}
