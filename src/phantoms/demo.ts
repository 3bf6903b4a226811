/**
 * A small seeded demo volume: a short-axis-like stack with a body outline, LV blood pool (1),
 * LV myocardium (2) and RV blood pool (3), using the M&Ms label convention. It is what the CLI and
 * the tour notebook show when no real data is at hand. It is deliberately simple; the cardiac
 * phantom with exact view geometry lives in phantoms/cardiac.
 */
import { Random } from "../random.js";
import type { Volume } from "../io/volume.js";

export interface DemoOptions {
  seed?: number;
  size?: number;
  slices?: number;
}

export function demoVolume(options: DemoOptions = {}): { image: Volume<Float32Array>; labels: Volume<Uint8Array> } {
  const { seed = 1, size = 96, slices = 10 } = options;
  const rng = new Random(seed);
  const spacing = [1.5, 1.5, 8];
  const affine = [
    [spacing[0], 0, 0, -(size * spacing[0]) / 2],
    [0, spacing[1], 0, -(size * spacing[1]) / 2],
    [0, 0, spacing[2], 0],
    [0, 0, 0, 1],
  ];
  const image = new Float32Array(size * size * slices);
  const labels = new Uint8Array(size * size * slices);
  const cx = size * rng.uniform(0.45, 0.55);
  const cy = size * rng.uniform(0.45, 0.55);
  for (let k = 0; k < slices; k++) {
    // The ventricles taper from base (k = 0) to apex.
    const taper = 1 - (0.7 * k) / Math.max(1, slices - 1);
    const rLv = size * 0.11 * taper;
    const wall = size * 0.05;
    const rRv = size * 0.13 * taper;
    for (let j = 0; j < size; j++) {
      for (let i = 0; i < size; i++) {
        const o = i + size * (j + size * k);
        const body = ((i - size / 2) / (size * 0.45)) ** 2 + ((j - size / 2) / (size * 0.35)) ** 2 <= 1;
        const dLv = Math.hypot(i - cx, j - cy);
        const dRv = Math.hypot((i - (cx - rLv - wall - rRv * 0.6)) / 1.0, (j - cy) / 1.4);
        let label = 0;
        let value = body ? 0.35 : 0.02;
        if (dLv <= rLv) [label, value] = [1, 0.9];
        else if (dLv <= rLv + wall) [label, value] = [2, 0.25];
        else if (dRv <= rRv) [label, value] = [3, 0.85];
        labels[o] = label;
        image[o] = value + rng.normal(0, 0.04);
      }
    }
  }
  const shape = [size, size, slices];
  return {
    image: { data: image, shape, spacing, affine, source: `demo volume (seed ${seed})` },
    labels: { data: labels, shape, spacing, affine: affine.map((r) => r.slice()), source: `demo labels (seed ${seed})` },
  };
}
