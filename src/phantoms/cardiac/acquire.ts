/**
 * "Imaging" a planned view of a synthetic subject: sample the analytic anatomy at every pixel,
 * with partial volume (supersampling in-plane and across the slice thickness), a smooth bias
 * field and Rician noise, as magnitude MR images have. Labels come from the pixel centre.
 */
import { applyToPoint, column } from "../../geometry/affine.js";
import { affineSpacing, type Volume } from "../../io/volume.js";
import { Random } from "../../random.js";
import { makeTissueClassifier, TISSUE_LABEL, tissueIntensities, type Phase } from "./anatomy.js";
import type { CardiacSubject } from "./subject.js";
import type { ViewPlan } from "./views.js";

export interface AcquiredView {
  image: Volume<Float32Array>;
  labels: Volume<Uint8Array>;
}

/** Sub-pixel sample offsets: 2 x 2 in-plane, 3 across the slice thickness. */
const IN_PLANE = [-0.25, 0.25];
const THROUGH = [-1 / 3, 0, 1 / 3];

export function acquireView(s: CardiacSubject, plan: ViewPlan, phase: Phase): AcquiredView {
  const classify = makeTissueClassifier(s, phase);
  const intensity = tissueIntensities(s);
  const { shape, affine } = plan.grid;
  const [nx, ny, nz] = shape;
  const image = new Float32Array(nx * ny * nz);
  const labels = new Uint8Array(nx * ny * nz);
  const normal = column(affine, 2);
  const nLen = Math.hypot(...normal);
  const thick = normal.map((c) => (c / nLen) * plan.thickness) as [number, number, number];
  const ci = column(affine, 0);
  const cj = column(affine, 1);
  const rng = new Random(s.seed * 31 + plan.name.charCodeAt(0) * 7 + plan.name.length + (phase === "ED" ? 0 : 1000003));
  const sigma = s.look.blood / s.look.snr;
  const bias = s.look.bias;
  const bd = s.look.biasDirection;
  const samples = IN_PLANE.length * IN_PLANE.length * THROUGH.length;
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        const c = applyToPoint(affine, [i, j, k]);
        labels[o] = TISSUE_LABEL[classify(c[0], c[1], c[2])];
        let sum = 0;
        for (const a of IN_PLANE) for (const b of IN_PLANE) for (const t of THROUGH) {
          sum += intensity[classify(
            c[0] + a * ci[0] + b * cj[0] + t * thick[0],
            c[1] + a * ci[1] + b * cj[1] + t * thick[1],
            c[2] + a * ci[2] + b * cj[2] + t * thick[2],
          )];
        }
        // Smooth multiplicative bias along a random direction (coil sensitivity falls off).
        const along = ((c[0] - s.origin[0]) * bd[0] + (c[1] - s.origin[1]) * bd[1] + (c[2] - s.origin[2]) * bd[2]) / 150;
        const signal = (sum / samples) * (1 + bias * Math.tanh(along));
        // Rician: magnitude of the complex signal with Gaussian noise on both channels.
        image[o] = Math.hypot(signal + rng.normal(0, sigma), rng.normal(0, sigma));
      }
    }
  }
  const spacing = affineSpacing(affine);
  const source = `synthetic cardiac subject ${s.seed}, ${plan.name} ${phase}`;
  return {
    image: { data: image, shape: [nx, ny, nz], spacing, affine: affine.map((r) => r.slice()), source },
    labels: { data: labels, shape: [nx, ny, nz], spacing, affine: affine.map((r) => r.slice()), source: `${source} labels` },
  };
}
