/**
 * "Scanning" a synthetic abdominal subject: an axial CT volume in Hounsfield units and its label
 * map on one grid.
 *
 * - Grid: `matrix` x `matrix` pixels of `pixelMm`, `slices` contiguous slices of `sliceMm`,
 *   centred on the table (world x = y = 0) and at world z = `centreZ`. Affine RAS+ with the
 *   first index towards the patient's right (+x), the second anterior, the third superior.
 * - Partial volume: each voxel is the mean HU over its pixel square and `throughSamples`
 *   sub-slices across its thickness, sampled where the tissue changes (render.ts).
 * - Labels: the tissue at the voxel centre.
 * - Noise: Gaussian, slightly correlated between neighbours (noise.ts), sd = the subject's sd at
 *   3 mm * sqrt(3 / sliceMm). Values are rounded to integers and clipped to the scanner range
 *   [-1024, 3071] like stored CT.
 */
import { affineSpacing, type Affine, type Volume } from "../../io/volume.js";
import { Random } from "../../random.js";
import { makeAbdomenAnatomy } from "./anatomy.js";
import { correlatedNoise } from "./noise.js";
import { renderAbdomen } from "./render.js";
import type { AbdomenSubject } from "./subject.js";
import { tissueHu } from "./tissues.js";

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
  const { values, labels } = renderAbdomen(makeAbdomenAnatomy(s), tissueHu(s.look.hu), {
    n,
    nz,
    x0: affine[0][3],
    y0: affine[1][3],
    z0: affine[2][3],
    pixelMm: o.pixelMm,
    sliceMm: o.sliceMm,
    throughSamples: o.throughSamples,
  });
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
