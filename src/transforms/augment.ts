/**
 * Seeded 2D augmentation of one slice and its target maps with a known spatial transform:
 * rotation, isotropic scale, translation and (optionally) a mirror flip, then intensity gamma,
 * gain and noise. The image is sampled bilinearly, targets (label maps) by nearest neighbour,
 * through the same inverse map, so image and targets stay aligned.
 *
 * Flips are off by default: for anatomy-aware pretexts a mirrored heart contradicts the
 * anatomy the targets encode (the RV would sit on the other side of the septum).
 */
import type { Random } from "../random.js";

export interface AugmentOptions {
  rotateDeg: number;
  scale: [number, number];
  translatePx: number;
  flip: boolean;
  gamma: [number, number];
  gain: [number, number];
  noise: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = { rotateDeg: 20, scale: [0.9, 1.1], translatePx: 4, flip: false, gamma: [0.8, 1.25], gain: [0.9, 1.1], noise: 0.02 };
export const NO_AUGMENT: AugmentOptions = { rotateDeg: 0, scale: [1, 1], translatePx: 0, flip: false, gamma: [1, 1], gain: [1, 1], noise: 0 };

/** One draw of the augmentation parameters. */
export interface AugmentParams {
  angle: number;
  scale: number;
  tx: number;
  ty: number;
  flip: boolean;
  gamma: number;
  gain: number;
  noise: number;
}

/** Draw parameters from `rng` in a fixed order, so the same seed gives the same augmentation. */
export function drawAugmentParams(rng: Random, o: AugmentOptions = DEFAULT_AUGMENT): AugmentParams {
  return {
    angle: (rng.uniform(-o.rotateDeg, o.rotateDeg) * Math.PI) / 180,
    scale: rng.uniform(o.scale[0], o.scale[1]),
    tx: rng.uniform(-o.translatePx, o.translatePx),
    ty: rng.uniform(-o.translatePx, o.translatePx),
    flip: o.flip && rng.next() < 0.5,
    gamma: Math.exp(rng.uniform(Math.log(o.gamma[0]), Math.log(o.gamma[1]))),
    gain: rng.uniform(o.gain[0], o.gain[1]),
    noise: o.noise,
  };
}

/**
 * Augment a size x size image (x fastest, values ~[0, 1]), its label maps (`targets`, nearest)
 * and its continuous target maps (`fields`, e.g. heatmaps; bilinear, no intensity changes) with
 * random parameters. Fields do not draw from `rng`: adding them leaves every other number as is.
 */
export function augmentSlice(image: Float32Array, targets: Uint8Array[], size: number, rng: Random, o: AugmentOptions = DEFAULT_AUGMENT, fields: Float32Array[] = []) {
  return applyAugment(image, targets, size, drawAugmentParams(rng, o), rng, fields);
}

/**
 * Apply given parameters. The output pixel (x, y) samples the input at the inverse map: about the
 * image centre, undo the translation, the flip, then rotate by -angle and divide by the scale.
 * Pixels that map outside the input become 0 (image, fields) and 0 (targets: background).
 */
export function applyAugment(image: Float32Array, targets: Uint8Array[], size: number, p: AugmentParams, rng: Random, fields: Float32Array[] = []): { image: Float32Array; targets: Uint8Array[]; fields: Float32Array[] } {
  const c = (size - 1) / 2;
  const cos = Math.cos(p.angle) / p.scale;
  const sin = Math.sin(p.angle) / p.scale;
  const flip = p.flip ? -1 : 1;
  const outImage = new Float32Array(size * size);
  const outTargets = targets.map(() => new Uint8Array(size * size));
  const outFields = fields.map(() => new Float32Array(size * size));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (x - c - p.tx) * flip;
      const dy = y - c - p.ty;
      const sx = cos * dx + sin * dy + c;
      const sy = -sin * dx + cos * dy + c;
      const o2 = x + size * y;
      const xi = Math.round(sx);
      const yi = Math.round(sy);
      if (xi >= 0 && yi >= 0 && xi < size && yi < size) {
        for (let t = 0; t < targets.length; t++) outTargets[t][o2] = targets[t][xi + size * yi];
      }
      // Bilinear inside the hull of pixel centres; exact pixel hits (e.g. 90-degree turns) included.
      const x0 = Math.min(Math.floor(sx), size - 2);
      const y0 = Math.min(Math.floor(sy), size - 2);
      if (sx < -1e-9 || sy < -1e-9 || sx > size - 1 + 1e-9 || sy > size - 1 + 1e-9) continue;
      const fx = Math.max(0, Math.min(1, sx - x0));
      const fy = Math.max(0, Math.min(1, sy - y0));
      const i = Math.max(0, x0) + size * Math.max(0, y0);
      const bilinear = (src: Float32Array) => (src[i] * (1 - fx) + src[i + 1] * fx) * (1 - fy) + (src[i + size] * (1 - fx) + src[i + size + 1] * fx) * fy;
      outImage[o2] = bilinear(image);
      for (let f = 0; f < fields.length; f++) outFields[f][o2] = bilinear(fields[f]);
    }
  }
  for (let i = 0; i < outImage.length; i++) {
    outImage[i] = p.gain * Math.max(0, outImage[i]) ** p.gamma + (p.noise > 0 ? rng.normal(0, p.noise) : 0);
  }
  return { image: outImage, targets: outTargets, fields: outFields };
}
