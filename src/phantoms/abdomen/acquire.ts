/**
 * "Scanning" a synthetic abdominal subject: an axial CT volume in Hounsfield units and its label
 * map on one grid.
 *
 * - Grid: `matrix` x `matrix` pixels of `pixelMm`, `slices` contiguous slices of `sliceMm`,
 *   centred on the table (world x = y = 0) and at world z = `centreZ`. Affine RAS+ with the
 *   first index towards the patient's right (+x), the second anterior, the third superior.
 * - Partial volume: each slice averages `throughSamples` sub-slices across its thickness; within
 *   a sub-slice, pixels whose HU differs from a neighbour's by more than EDGE_HU are
 *   supersampled 2 x 2 (uniform pixels are exact with one sample, so the cost stays near one
 *   sample per pixel).
 * - Labels: the tissue at the voxel centre.
 * - Noise: Gaussian, slightly correlated between neighbours ([a, 1, a] filter per axis; lag-1
 *   correlation 2a / (1 + 2a^2) = 0.2 with a = 0.1, as measured in the real sample's organs),
 *   sd = the subject's sd at 3 mm * sqrt(3 / sliceMm). Values are rounded to integers and
 *   clipped to the scanner range [-1024, 3071] like stored CT.
 */
import { affineSpacing, type Affine, type Volume } from "../../io/volume.js";
import { Random } from "../../random.js";
import { makeAbdomenAnatomy } from "./anatomy.js";
import type { AbdomenSubject } from "./subject.js";
import { TISSUE_LABEL, tissueHu } from "./tissues.js";

export interface AcquisitionOptions {
  matrix?: number;
  pixelMm?: number;
  sliceMm?: number;
  slices?: number;
  /** World z (mm) of the volume's centre; subject z = 0 is the L1/L2 disc. */
  centreZ?: number;
  /** Sub-slices averaged per slice (odd, >= 1). */
  throughSamples?: number;
}

export const DEFAULT_ACQUISITION: Required<AcquisitionOptions> = { matrix: 128, pixelMm: 3, sliceMm: 3, slices: 64, centreZ: 0, throughSamples: 3 };

const NOISE_NEIGHBOUR = 0.1;
/** HU step between neighbouring pixels above which a pixel is supersampled. */
const EDGE_HU = 20;

export function acquireAbdomenCt(s: AbdomenSubject, options: AcquisitionOptions = {}): { image: Volume<Int16Array>; labels: Volume<Uint8Array> } {
  const o = { ...DEFAULT_ACQUISITION, ...options };
  checkOptions(o);
  const n = o.matrix;
  const nz = o.slices;
  const affine: Affine = [
    [o.pixelMm, 0, 0, (-(n - 1) / 2) * o.pixelMm],
    [0, o.pixelMm, 0, (-(n - 1) / 2) * o.pixelMm],
    [0, 0, o.sliceMm, o.centreZ - ((nz - 1) / 2) * o.sliceMm],
    [0, 0, 0, 1],
  ];
  const anatomy = makeAbdomenAnatomy(s);
  const hu = tissueHu(s.look.hu);
  const values = new Float32Array(n * n * nz);
  const labels = new Uint8Array(n * n * nz);
  const codes = new Uint8Array(n * n);
  // Pixel centres and the four 2 x 2 sub-pixel positions, prepared once for every plane.
  const grid = (dx: number, dy: number) => {
    const xs = new Float64Array(n * n);
    const ys = new Float64Array(n * n);
    for (let j = 0, p = 0; j < n; j++)
      for (let i = 0; i < n; i++, p++) {
        xs[p] = affine[0][3] + (i + dx) * o.pixelMm;
        ys[p] = affine[1][3] + (j + dy) * o.pixelMm;
      }
    return anatomy.points(xs, ys);
  };
  const centres = grid(0, 0);
  const subPixels = [grid(-0.25, -0.25), grid(0.25, -0.25), grid(-0.25, 0.25), grid(0.25, 0.25)];
  const S = o.throughSamples;
  for (let k = 0; k < nz; k++) {
    const zk = affine[2][3] + k * o.sliceMm;
    const slice = values.subarray(k * n * n, (k + 1) * n * n);
    for (let t = 0; t < S; t++) {
      const classify = anatomy.plane(zk + ((t + 0.5) / S - 0.5) * o.sliceMm);
      for (let p = 0; p < n * n; p++) codes[p] = classify(centres, p);
      if (2 * t + 1 === S) for (let p = 0; p < n * n; p++) labels[k * n * n + p] = TISSUE_LABEL[codes[p]];
      for (let j = 0, p = 0; j < n; j++) {
        for (let i = 0; i < n; i++, p++) {
          const h = hu[codes[p]];
          // Supersample only where a neighbour differs by more than a noise-level HU step:
          // partial volume between similar soft tissues is invisible under the noise.
          const edge =
            (i > 0 && Math.abs(hu[codes[p - 1]] - h) > EDGE_HU) ||
            (i < n - 1 && Math.abs(hu[codes[p + 1]] - h) > EDGE_HU) ||
            (j > 0 && Math.abs(hu[codes[p - n]] - h) > EDGE_HU) ||
            (j < n - 1 && Math.abs(hu[codes[p + n]] - h) > EDGE_HU);
          if (!edge) slice[p] += h;
          else slice[p] += (hu[classify(subPixels[0], p)] + hu[classify(subPixels[1], p)] + hu[classify(subPixels[2], p)] + hu[classify(subPixels[3], p)]) / 4;
        }
      }
    }
    for (let p = 0; p < n * n; p++) slice[p] /= S;
  }
  const noise = correlatedNoise([n, n, nz], s.look.noiseSd * Math.sqrt(3 / o.sliceMm), new Random(s.seed * 7919 + 17));
  const image = new Int16Array(values.length);
  for (let v = 0; v < values.length; v++) image[v] = Math.round(Math.max(-1024, Math.min(3071, values[v] + noise[v])));
  const shape = [n, n, nz];
  const spacing = affineSpacing(affine);
  const source = `synthetic abdominal CT, subject ${s.seed}`;
  return {
    image: { data: image, shape, spacing, affine, source },
    labels: { data: labels, shape: shape.slice(), spacing: spacing.slice(), affine: affine.map((r) => r.slice()), source: `${source} labels` },
  };
}

function checkOptions(o: Required<AcquisitionOptions>): void {
  for (const key of ["matrix", "slices", "throughSamples"] as const)
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new Error(`abdominal CT: ${key} must be a positive integer, got ${o[key]}`);
  if (o.throughSamples % 2 === 0) throw new Error(`abdominal CT: throughSamples must be odd (the centre sub-slice gives the labels), got ${o.throughSamples}`);
  for (const key of ["pixelMm", "sliceMm"] as const)
    if (!(o[key] > 0 && Number.isFinite(o[key]))) throw new Error(`abdominal CT: ${key} must be a positive number, got ${o[key]}`);
  if (!Number.isFinite(o.centreZ)) throw new Error(`abdominal CT: centreZ must be finite, got ${o.centreZ}`);
}

/** Gaussian noise of standard deviation `sd`, filtered by [a, 1, a] along each axis. */
function correlatedNoise(shape: [number, number, number], sd: number, rng: Random): Float32Array {
  const [nx, ny, nz] = shape;
  const count = nx * ny * nz;
  let a = new Float32Array(count);
  // Box-Muller, both outputs used.
  for (let v = 0; v < count; v += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const th = 2 * Math.PI * rng.next();
    a[v] = r * Math.cos(th);
    if (v + 1 < count) a[v + 1] = r * Math.sin(th);
  }
  let b = new Float32Array(count);
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const len = shape[axis];
    const st = strides[axis];
    if (len === 1) continue;
    // Lines along `axis` start at outer + inner (outer steps over blocks of st * len voxels).
    for (let outer = 0; outer < count; outer += st * len) {
      for (let inner = 0; inner < st; inner++) {
        const first = outer + inner;
        const last = first + (len - 1) * st;
        // Mirror at the ends so every voxel sums three samples.
        b[first] = a[first] + NOISE_NEIGHBOUR * 2 * a[first + st];
        for (let v = first + st; v < last; v += st) b[v] = a[v] + NOISE_NEIGHBOUR * (a[v - st] + a[v + st]);
        b[last] = a[last] + NOISE_NEIGHBOUR * 2 * a[last - st];
      }
    }
    [a, b] = [b, a];
  }
  const scale = sd / Math.sqrt((1 + 2 * NOISE_NEIGHBOUR * NOISE_NEIGHBOUR) ** 3);
  for (let v = 0; v < count; v++) a[v] *= scale;
  return a;
}
