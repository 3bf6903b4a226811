/**
 * Models Genesis (Zhou et al., MICCAI 2019; extended in Medical Image Analysis 2021): restore the
 * original image from a transformed copy. The whole U-Net (encoder and decoder) learns what
 * tissue looks like (its intensities, its texture, its shape and its context) by undoing four
 * transformations. Each is drawn independently, in the paper's order:
 *
 *   1. local pixel shuffling (p = 0.5): pixels are shuffled inside small random windows. The
 *      network must recover local texture and boundaries, while the global shape is unchanged;
 *   2. non-linear intensity (p = 0.9): a monotonic cubic Bézier curve maps intensities. The curve
 *      runs from (0, 0) to (1, 1) with two control points uniform in [0, 1]^2, and half the time
 *      it is flipped into a decreasing map. The network must recover absolute intensities, which
 *      in CT/MR carry the tissue's identity;
 *   3. painting (p = 0.9), in-painting 20% of the time and out-painting 80%:
 *      in-painting fills up to 5 boxes with uniform noise, and the network must fill them in from
 *      their surroundings (context). Out-painting keeps 1 to 5 boxes and fills everything else
 *      with noise, so the network must extrapolate the anatomy outside them (shape).
 *
 * The target is always the untransformed image, the output is linear (one channel: the host
 * U-Net's own `head`), and the loss is the mean squared error over all pixels/voxels, as in the
 * paper. The pretrained encoder and decoder both transfer ("all-but-head"), as Models Genesis
 * fine-tunes its whole pretrained U-Net.
 *
 * Where the numbers come from: the paper describes the transformations and (as we recall its
 * text) that in- and out-painting exclude each other. The probabilities (non-linear 0.9, local shuffling 0.5,
 * painting 0.9 of which in-painting 0.2, flip of the Bézier map 0.5) and the window and box sizes
 * come from the authors' released configuration and code (github.com/MrGiovanni/ModelsGenesis,
 * config.py and utils.py). We consulted that code to check our memory of those settings; nothing
 * here is copied from it. Box sizes per axis of n pixels, as there:
 *   - shuffle windows: side 1..n/10;
 *   - in-painting: up to 5 boxes (each further one drawn with probability 0.95) of side n/6..n/3,
 *     at least 3 pixels from the border;
 *   - out-painting: 1 box kept, plus up to 4 more (each with probability 0.95), of side
 *     n - (3n/7..4n/7), at least 3 pixels from the border.
 *
 * Where we depart from it or fill in detail, and why:
 *   - Intensity scale. Models Genesis clips CT to [-1000, 1000] HU and scales it to [0, 1]. Our
 *     hosts feed z-scored images, so every transformation acts on a per-image min-max normalised
 *     copy (float64), and the result is mapped back with the inverse affine map. Input and target
 *     then stay on the scale the segmentation network sees, and the noise of painting is uniform
 *     over the image's own range. Pixels that no transformation changed are copied from the
 *     original rather than round-tripped, so an untransformed pixel is bit-exact (the network is
 *     never asked to undo float error). A constant image gets range 1 (noise in [min, min + 1)).
 *   - Local shuffling uses non-overlapping windows. The authors draw 10000 possibly overlapping
 *     windows on a 64x64x32 crop, each shuffled from the original. In ours, each window is a
 *     permutation of its own pixels, which we can check. We tile the image at random (a
 *     guillotine tiling, tile sides 1..max(2, n/10) per axis) and shuffle each tile of at least
 *     2 pixels with probability `shuffleCoverage`. Our own simulation of the authors' draws shows
 *     they touch about 81% of the crop, hence the default 0.8. The windows' layout differs
 *     (tiles, not overlapping boxes); we are unsure whether that matters. The side can reach 2
 *     even on small axes, because n/10 < 2 would make every window a single pixel (no shuffle).
 *   - Borders: the 3-pixel margin of the boxes shrinks on small axes, to at most half the free
 *     space, so boxes always fit.
 *   - The authors also flip input and target together (flip_rate 0.4). That is data
 *     augmentation, not a transformation to undo, and it would make the target differ from the
 *     sampled image. It is left out: the target is the host's image, exactly.
 *   - 2D and 3D alike: windows and boxes have one side per spatial axis.
 *   - All randomness (which transformations, windows, boxes, curve, noise) comes from the `rng`
 *     the trainer passes, so a resumed run draws the same batches. The authors' numpy/random
 *     streams are not reproduced; the distributions are.
 */
import * as tf from "@tensorflow/tfjs";
import type { Pretext } from "../experiments/protocol.js";
import type { Random } from "../random.js";
import { train, type Batch } from "../train/trainer.js";
import type { GenericHost } from "./generic.js";

export const GENESIS_NAME = "genesis";

export interface GenesisOptions {
  /** Probability of the non-linear intensity map (paper's code: 0.9). */
  nonlinear: number;
  /** Given the map, probability it is flipped into a decreasing one (paper's code: 0.5). */
  flip: number;
  /** Probability of local pixel shuffling (paper's code: 0.5). */
  shuffle: number;
  /** Probability of painting, in- or out- (paper's code: 0.9). */
  paint: number;
  /** Given painting, probability of in-painting rather than out-painting (paper's code: 0.2). */
  inPaint: number;
  /** Local shuffling: probability each tile is shuffled, about the fraction of pixels shuffled (ours: 0.8, see header). */
  shuffleCoverage: number;
  /** Largest window side as a fraction of the axis (paper's code: 1/10), at least 2 pixels. */
  shuffleMaxSide: number;
}

export const GENESIS_DEFAULTS: GenesisOptions = { nonlinear: 0.9, flip: 0.5, shuffle: 0.5, paint: 0.9, inPaint: 0.2, shuffleCoverage: 0.8, shuffleMaxSide: 0.1 };

/** Fill in the defaults and check every field (each is a probability or fraction in [0, 1]). */
export function resolveGenesisOptions(options: Partial<GenesisOptions> = {}): GenesisOptions {
  const o = { ...GENESIS_DEFAULTS, ...options };
  for (const [key, value] of Object.entries(o)) {
    if (!(typeof value === "number" && value >= 0 && value <= 1)) throw new Error(`genesis option ${key} must be a number in [0, 1], got ${String(value)}`);
  }
  return o;
}

/** An axis-aligned box: first pixel and side per spatial axis, in the image's axis order ([h, w] or [d, h, w]). */
export interface Box {
  start: number[];
  size: number[];
}

/** Flat indices of a box in a row-major image of `shape` (last axis fastest, as tensors store it). */
export function boxIndices(shape: readonly number[], box: Box): number[] {
  const strides = shape.map((_, a) => shape.slice(a + 1).reduce((p, n) => p * n, 1));
  const out: number[] = [];
  const walk = (axis: number, base: number) => {
    if (axis === shape.length) {
      out.push(base);
      return;
    }
    for (let k = 0; k < box.size[axis]; k++) walk(axis + 1, base + (box.start[axis] + k) * strides[axis]);
  };
  walk(0, 0);
  return out;
}

const voxelCount = (shape: readonly number[]) => shape.reduce((p, n) => p * n, 1);

// ---------------------------------------------------------------------------------------------
// Min-max normalisation (the scale the transformations act on)

/**
 * The image min-max normalised to [0, 1] in float64, with the affine map back
 * (x = min + value x range). A constant image gets range 1, so it maps to 0 and noise has a scale.
 */
export function minMaxNormalise(image: ArrayLike<number>): { values: Float64Array; min: number; range: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < image.length; i++) {
    if (image[i] < min) min = image[i];
    if (image[i] > max) max = image[i];
  }
  const range = max > min ? max - min : 1;
  const values = new Float64Array(image.length);
  for (let i = 0; i < image.length; i++) values[i] = (image[i] - min) / range;
  return { values, min, range };
}

/** The inverse affine map of minMaxNormalise, back to float32. */
export function minMaxRestore(values: ArrayLike<number>, min: number, range: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = min + values[i] * range;
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. Non-linear intensity: a monotonic cubic Bézier curve

/**
 * A cubic Bézier curve from P0 = (0, 0) through control points p1, p2 to P3 = (1, 1). Its
 * x(t) and y(t) are non-decreasing when the control points lie in [0, 1]^2, so the curve is the
 * graph of an increasing map [0, 1] -> [0, 1]. Flipped, the k-th smallest x takes the k-th
 * largest y, i.e. the curve (x(t), y(1 - t)): a decreasing map with 0 -> 1 and 1 -> 0. This is
 * what the authors' code does by sorting only the x samples.
 */
export interface BezierCurve {
  p1: [number, number];
  p2: [number, number];
  flipped: boolean;
}

/** Control points uniform in [0, 1]^2 (p1 then p2, x before y), then the flip with probability `flip`. */
export function drawBezierCurve(rng: Random, flip: number): BezierCurve {
  const p1: [number, number] = [rng.next(), rng.next()];
  const p2: [number, number] = [rng.next(), rng.next()];
  return { p1, p2, flipped: rng.next() < flip };
}

/** The point of the (unflipped) curve at t in [0, 1]. */
export function bezierPoint(c: BezierCurve, t: number): [number, number] {
  const s = 1 - t;
  const b1 = 3 * s * s * t;
  const b2 = 3 * s * t * t;
  const b3 = t * t * t;
  return [b1 * c.p1[0] + b2 * c.p2[0] + b3, b1 * c.p1[1] + b2 * c.p2[1] + b3];
}

/**
 * The intensity map of a curve: v in [0, 1] -> the curve's y where its x equals v (flipped: y at
 * 1 - t). x(t) is solved by bisection (x(t) is strictly increasing), so the map is exact to about
 * 1e-12. The authors interpolate 100000 samples instead, which gives the same map.
 */
export function bezierIntensityMap(c: BezierCurve): (v: number) => number {
  return (v: number) => {
    const x = Math.min(1, Math.max(0, v));
    let lo = 0;
    let hi = 1;
    for (let k = 0; k < 40; k++) {
      const mid = (lo + hi) / 2;
      const s = 1 - mid;
      // x(t) of the Bernstein form, inline (this runs 40 times per pixel).
      if (3 * s * s * mid * c.p1[0] + 3 * s * mid * mid * c.p2[0] + mid * mid * mid < x) lo = mid;
      else hi = mid;
    }
    const t = (lo + hi) / 2;
    return bezierPoint(c, c.flipped ? 1 - t : t)[1];
  };
}

/** Apply a map to every value, in place. */
export function applyIntensityMap(values: Float64Array, map: (v: number) => number): void {
  for (let i = 0; i < values.length; i++) values[i] = map(values[i]);
}

// ---------------------------------------------------------------------------------------------
// 2. Local pixel shuffling

/**
 * Non-overlapping windows for local shuffling: a random guillotine tiling of the image, of which
 * each tile of at least 2 pixels is kept with probability `coverage`. Axis 0 is cut into
 * consecutive segments of 1..max(2, floor(n x maxSide)) pixels (the last one truncated to fit).
 * Each segment is cut along axis 1 independently, and so on, so tiles of different rows are not
 * aligned. The expected fraction of pixels in windows is about `coverage` (less the rare
 * one-pixel tiles), at linear cost. Random placement with rejection jams well below 80% and
 * gets slow on volumes.
 */
export function drawShuffleWindows(shape: readonly number[], rng: Random, coverage: number, maxSide: number): Box[] {
  const longest = shape.map((n) => Math.min(n, Math.max(2, Math.floor(n * maxSide))));
  const windows: Box[] = [];
  const tile = (axis: number, start: number[], size: number[]) => {
    if (axis === shape.length) {
      if (size.reduce((p, n) => p * n, 1) >= 2 && rng.next() < coverage) windows.push({ start, size });
      return;
    }
    for (let s = 0; s < shape[axis]; ) {
      const len = Math.min(shape[axis] - s, rng.int(1, longest[axis]));
      tile(axis + 1, [...start, s], [...size, len]);
      s += len;
    }
  };
  tile(0, [], []);
  return windows;
}

/** Shuffle the values inside each window (Fisher-Yates with `rng`), in place; pixels outside every window are untouched. */
export function shuffleWindows(values: Float64Array, shape: readonly number[], windows: readonly Box[], rng: Random): void {
  for (const w of windows) {
    const indices = boxIndices(shape, w);
    const shuffled = rng.shuffle(indices.map((i) => values[i]));
    indices.forEach((i, k) => (values[i] = shuffled[k]));
  }
}

// ---------------------------------------------------------------------------------------------
// 3. In-painting and out-painting

/** A box with side `side(n)` along each axis of n pixels (clamped to 1..n), its start uniform at least 3 pixels from both ends (fewer if the axis is too short). */
function placeBox(shape: readonly number[], rng: Random, side: (n: number) => number): Box {
  const size = shape.map((n) => Math.min(n, Math.max(1, side(n))));
  const start = shape.map((n, a) => {
    const margin = Math.min(3, Math.floor((n - size[a]) / 2));
    return rng.int(margin, n - size[a] - margin);
  });
  return { start, size };
}

/** In-painting boxes: while fewer than 5 and a draw < 0.95, one more box of side n/6..n/3 per axis (possibly none). */
export function drawInPaintBoxes(shape: readonly number[], rng: Random): Box[] {
  const boxes: Box[] = [];
  while (boxes.length < 5 && rng.next() < 0.95) boxes.push(placeBox(shape, rng, (n) => rng.int(Math.max(1, Math.floor(n / 6)), Math.max(1, Math.floor(n / 3)))));
  return boxes;
}

/** Out-painting boxes (kept): one, then while fewer than 5 and a draw < 0.95 one more; side n - (3n/7..4n/7) per axis. */
export function drawOutPaintBoxes(shape: readonly number[], rng: Random): Box[] {
  const side = (n: number) => n - rng.int(Math.floor((3 * n) / 7), Math.floor((4 * n) / 7));
  const boxes: Box[] = [placeBox(shape, rng, side)];
  while (boxes.length < 5 && rng.next() < 0.95) boxes.push(placeBox(shape, rng, side));
  return boxes;
}

/** Replace every pixel inside the boxes with uniform noise in [0, 1), in place. */
export function inPaint(values: Float64Array, shape: readonly number[], boxes: readonly Box[], rng: Random): void {
  for (const b of boxes) for (const i of boxIndices(shape, b)) values[i] = rng.next();
}

/** Replace every pixel outside all the boxes with uniform noise in [0, 1), in place. */
export function outPaint(values: Float64Array, shape: readonly number[], boxes: readonly Box[], rng: Random): void {
  const kept = new Uint8Array(values.length);
  for (const b of boxes) for (const i of boxIndices(shape, b)) kept[i] = 1;
  for (let i = 0; i < values.length; i++) if (!kept[i]) values[i] = rng.next();
}

// ---------------------------------------------------------------------------------------------
// The pair (input, target) of one image

/** Which transformations were drawn for an image, with their parameters. */
export interface GenesisApplied {
  shuffle?: Box[];
  nonlinear?: BezierCurve;
  inPaint?: Box[];
  outPaint?: Box[];
}

/** One line naming what was applied, for figures. */
export function describeGenesis(a: GenesisApplied): string {
  const parts: string[] = [];
  if (a.shuffle) parts.push(`local shuffling (${a.shuffle.length} windows)`);
  if (a.nonlinear) parts.push(`non-linear intensity (${a.nonlinear.flipped ? "decreasing" : "increasing"})`);
  if (a.inPaint) parts.push(`in-painting (${a.inPaint.length} boxes)`);
  if (a.outPaint) parts.push(`out-painting (${a.outPaint.length} kept boxes)`);
  return parts.length > 0 ? parts.join(" + ") : "no transformation (identity)";
}

/**
 * The network's input for one image (`shape` [h, w] or [d, h, w], values row-major): the
 * transformations in the paper's order (shuffle, intensity, painting), each drawn with its
 * probability, on the min-max normalised copy, mapped back to the image's scale. The target is
 * `image` itself.
 */
export function genesisTransform(image: Float32Array, shape: readonly number[], rng: Random, options: GenesisOptions): { input: Float32Array; applied: GenesisApplied } {
  if (shape.length !== 2 && shape.length !== 3) throw new Error(`genesis: images are 2D or 3D, got shape [${shape}]`);
  if (voxelCount(shape) !== image.length) throw new Error(`genesis: shape [${shape}] has ${voxelCount(shape)} pixels, the image ${image.length}`);
  const { values: normalised, min, range } = minMaxNormalise(image);
  const t = Float64Array.from(normalised);
  const applied: GenesisApplied = {};
  if (rng.next() < options.shuffle) {
    applied.shuffle = drawShuffleWindows(shape, rng, options.shuffleCoverage, options.shuffleMaxSide);
    shuffleWindows(t, shape, applied.shuffle, rng);
  }
  if (rng.next() < options.nonlinear) {
    applied.nonlinear = drawBezierCurve(rng, options.flip);
    applyIntensityMap(t, bezierIntensityMap(applied.nonlinear));
  }
  if (rng.next() < options.paint) {
    if (rng.next() < options.inPaint) {
      applied.inPaint = drawInPaintBoxes(shape, rng);
      inPaint(t, shape, applied.inPaint, rng);
    } else {
      applied.outPaint = drawOutPaintBoxes(shape, rng);
      outPaint(t, shape, applied.outPaint, rng);
    }
  }
  // Untouched pixels are copied (exact); changed ones go back through the inverse affine map.
  const input = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) input[i] = t[i] === normalised[i] ? image[i] : min + t[i] * range;
  return { input, applied };
}

/**
 * A training batch: `batch` images drawn from `draw` with `rng` (first), then each image's
 * transformations (with the same rng, image by image). `target` is the drawn tensor itself, so
 * it is the untransformed images exactly; `input` has its shape [b, ...shape, 1].
 */
export function genesisBatch(draw: (rng: Random, batch: number) => tf.Tensor, batch: number, rng: Random, options: GenesisOptions): Batch {
  const target = draw(rng, batch);
  const shape = target.shape.slice(1, -1);
  if (target.shape[target.shape.length - 1] !== 1) throw new Error(`genesis: images must have 1 channel, got shape [${target.shape}]`);
  const data = target.dataSync() as Float32Array;
  const n = voxelCount(shape);
  const input = new Float32Array(data.length);
  for (let b = 0; b < target.shape[0]; b++) input.set(genesisTransform(data.subarray(b * n, (b + 1) * n), shape, rng, options).input, b * n);
  return { input: tf.tensor(input, target.shape), target };
}

/** Mean squared error of the restoration over all pixels/voxels, in training mode. */
export function genesisLoss(model: tf.LayersModel, batch: Batch): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(model.apply(batch.input, { training: true }) as tf.Tensor, batch.target)) as tf.Scalar);
}

/**
 * What the network is given and must produce for ONE image [...shape, 1], for teaching figures:
 * `input` and `target` tensors of that shape (the caller disposes them), what was applied, and a
 * label naming it.
 */
export function genesisExample(image: tf.Tensor, rng: Random, options: Partial<GenesisOptions> = {}): { input: tf.Tensor; target: tf.Tensor; applied: GenesisApplied; label: string } {
  const shape = image.shape.slice(0, -1);
  const data = Float32Array.from(image.dataSync());
  const { input, applied } = genesisTransform(data, shape, rng, resolveGenesisOptions(options));
  return { input: tf.tensor(input, image.shape), target: tf.tensor(data, image.shape), applied, label: describeGenesis(applied) };
}

/**
 * Models Genesis on any host: the host's U-Net with one linear output channel (its `head` is
 * the restoration head, so no pretext layer of its own), trained to restore the image under
 * mean squared error. Encoder and decoder transfer ("all-but-head").
 */
export function genesisPretext<C, D>(host: GenericHost<C, D>, options: Partial<GenesisOptions> = {}): Pretext<C, D> {
  const resolved = resolveGenesisOptions(options);
  return {
    name: GENESIS_NAME,
    dependsOn: (c, d) => ({ host: host.dependsOn(c, d), settings: host.settings(c), options: resolved }),
    // The U-Net seeds each layer seed*1000 + index + 1 (models/unet.ts), never 0, so seed 0 is seeded too.
    model: (config, seed) => host.network(config).unet(1, seed),
    train: (config, data, model, seed, checkpointFile) => {
      const { steps, learningRate, batch } = host.settings(config);
      const draw = host.images(config, data);
      return train(
        { model, sample: (rng) => genesisBatch(draw, batch, rng, resolved), loss: (b) => genesisLoss(model, b) },
        { steps, learningRate, seed: 611953 + seed, checkpointFile, checkpointEvery: 100, label: `pretrain ${GENESIS_NAME} (seed ${seed})` },
      );
    },
  };
}
