/**
 * Masked image modelling ("mim"): hide random patches of an image and ask the network to paint
 * the hidden pixels back. References: He et al. 2022 (MAE, "Masked autoencoders are scalable
 * vision learners", CVPR) and Xie et al. 2022 (SimMIM, "A simple framework for masked image
 * modeling", CVPR). For a convolutional U-Net the SimMIM form fits: the network sees the whole
 * image with the masked patches blanked out and regresses the raw pixels of the masked patches
 * at full resolution; MAE's form (the encoder drops the masked tokens) needs a ViT.
 *
 * What the pretext asks of the network: from the visible 40% of an image, predict the intensity
 * of every pixel under the mask. Doing that needs the local texture and the shapes of the
 * surrounding anatomy (an organ boundary continues through a hidden patch), which are what a
 * segmentation network's encoder and decoder need too; so all layers but the 1-channel head
 * transfer (scope "all-but-head").
 *
 * Our choices, and where we depart from or fill in the papers:
 * - Patches: non-overlapping p x p pixels (2D) or p x p x p voxels (3D), default p = 4. The image
 *   shape must be divisible by p (an error otherwise, no partial patches). SimMIM masks 32-px
 *   patches of a 192-px image (a 6 x 6 grid); on our 64-px slices a 4-px patch gives a 16 x 16
 *   grid (16^3 for a 64^3 volume). A hidden patch is then smaller than the organs around it
 *   (10 mm on the cardiac grid of 2.5-mm pixels, against an LV ~50 mm across), so filling it
 *   takes the surrounding structure rather than guessing a whole organ.
 * - Ratio: exactly round(ratio x patches) patches are masked in every image (not a Bernoulli
 *   draw per patch, so every image carries the same number of target pixels), chosen uniformly
 *   without replacement from the rng; default ratio 0.6 (SimMIM's). MAE's 0.75 pays for itself
 *   with a ViT whose encoder skips the masked tokens; a CNN computes every pixel whatever the
 *   ratio, and predicts a hidden pixel only from visible pixels within its receptive field. With
 *   4-px patches at 0.6, all 8 neighbours of a hidden patch are hidden too with probability
 *   0.6^8 ~ 1.7% (0.75^8 ~ 10% at MAE's ratio): hard, yet rarely hopeless for a small network.
 * - Mask value: masked pixels are set to the mean of the image's visible pixels, not a learned
 *   mask token (SimMIM learns one in the patch embedding; the host U-Net's first layer is a
 *   convolution on raw pixels, and adding an input channel for the mask would change the first
 *   kernel's shape, so it would no longer transfer). The visible mean is neutral whatever the
 *   host's scaling (the CT hosts are z-scored, where it is near 0; the cardiac stacks are
 *   percentile-scaled to [0, 1], where 0 would be the darkest tissue), and it reveals nothing of
 *   the hidden pixels. The square edges of the filled patches still mark them.
 * - Loss: mean squared error over the masked pixels only, pooled over the batch (as MAE; SimMIM
 *   uses L1 on the same pixels). Every image has the same number of masked pixels, so this is
 *   also the mean of the per-image masked MSEs. Unmasked pixels do not count: copying the visible
 *   input through would otherwise be most of the task. Targets are the raw (host-normalised)
 *   pixels, as SimMIM; MAE's per-patch normalised targets are not used.
 * - Network: the host's U-Net with one output channel; its own linear 1-voxel conv `head`
 *   regresses the pixel value. No other head: the pretext network is the segmentation network.
 */
import * as tf from "@tensorflow/tfjs";
import type { Pretext } from "../experiments/protocol.js";
import type { Random } from "../random.js";
import { train, type Batch } from "../train/trainer.js";
import type { GenericHost } from "./generic.js";

export const MIM_NAME = "mim";

export interface MimOptions {
  /** Side of a cubic patch in pixels (voxels); every spatial axis must be divisible by it. */
  patch: number;
  /** Fraction of the patches masked in every image: exactly round(ratio x patches), in (0, 1). */
  ratio: number;
}

export const MIM_DEFAULTS: MimOptions = { patch: 4, ratio: 0.6 };

/** Fill in the defaults and check the options; errors name the bad value. */
export function resolveMimOptions(options: Partial<MimOptions> = {}): MimOptions {
  const o = { ...MIM_DEFAULTS, ...options };
  if (!Number.isInteger(o.patch) || o.patch < 1) throw new Error(`mim: patch must be a positive integer, got ${o.patch}`);
  if (!(o.ratio > 0 && o.ratio < 1)) throw new Error(`mim: ratio must be in (0, 1), got ${o.ratio}`);
  return o;
}

/** Patches along each axis of an image of `shape` ([h, w] or [d, h, w]); the shape must be divisible by `patch`. */
export function patchGrid(shape: readonly number[], patch: number): number[] {
  if (shape.some((s) => !Number.isInteger(s) || s < 1 || s % patch !== 0)) {
    throw new Error(`mim: image shape [${shape.join(", ")}] is not divisible by the patch size ${patch}`);
  }
  return shape.map((s) => s / patch);
}

/**
 * How many patches are masked: round(ratio x patches). At least one must be masked (or the loss
 * has no pixel) and one visible (or the input is blank): an error otherwise.
 */
export function maskedPatchCount(patches: number, ratio: number): number {
  const k = Math.round(ratio * patches);
  if (k < 1 || k >= patches) throw new Error(`mim: ratio ${ratio} of ${patches} patches masks ${k}; need between 1 and ${patches - 1} (change the ratio or the patch size)`);
  return k;
}

/**
 * A patch mask for one image of spatial `shape`: 1 at every pixel of the masked patches, 0
 * elsewhere, in row-major order (the order of an image tensor [...shape, 1]). Exactly
 * round(ratio x patches) patches, a uniform draw without replacement from `rng` (partial
 * Fisher-Yates: k draws).
 */
export function drawPatchMask(shape: readonly number[], options: Partial<MimOptions>, rng: Random): Float32Array {
  const { patch, ratio } = resolveMimOptions(options);
  const grid = patchGrid(shape, patch);
  const n = grid.reduce((a, b) => a * b, 1);
  const k = maskedPatchCount(n, ratio);
  const order = Array.from({ length: n }, (_, i) => i);
  const chosen = new Uint8Array(n);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    [order[i], order[j]] = [order[j], order[i]];
    chosen[order[i]] = 1;
  }
  // Row-major strides of the pixels and of the patch grid.
  const dims = shape.length;
  const pixelStride = new Array<number>(dims);
  const gridStride = new Array<number>(dims);
  for (let a = dims - 1, ps = 1, gs = 1; a >= 0; a--) {
    pixelStride[a] = ps;
    gridStride[a] = gs;
    ps *= shape[a];
    gs *= grid[a];
  }
  const mask = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const fill = (axis: number, pixel: number, patchIndex: number): void => {
    if (axis === dims) {
      mask[pixel] = chosen[patchIndex];
      return;
    }
    for (let c = 0; c < shape[axis]; c++) fill(axis + 1, pixel + c * pixelStride[axis], patchIndex + Math.floor(c / patch) * gridStride[axis]);
  };
  fill(0, 0, 0);
  return mask;
}

/**
 * The network's input: each image [b, ...shape, 1] with the pixels where mask = 1 set to the mean
 * of that image's visible pixels (see the module comment).
 */
export function maskImage(image: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const axes = image.shape.map((_, i) => i).slice(1);
    const visible = tf.sub(1, mask);
    const mean = tf.div(tf.sum(tf.mul(image, visible), axes, true), tf.maximum(tf.sum(visible, axes, true), 1));
    return tf.where(tf.greater(mask, 0.5), tf.mul(tf.onesLike(image), mean), image);
  });
}

/**
 * Mean squared error over the masked pixels only: sum(mask x (prediction - target)^2) / sum(mask),
 * over the whole batch. Predictions at unmasked pixels get no gradient.
 */
export function maskedMse(prediction: tf.Tensor, target: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(mask, tf.squaredDifference(prediction, target))), tf.maximum(tf.sum(mask), 1)) as tf.Scalar);
}

/**
 * A training batch from images [b, ...shape, 1]: one mask per image drawn from `rng` (in batch
 * order), stacked as `mask` [b, ...shape, 1]; `x` the masked images; `target` the images
 * themselves (this batch takes ownership of `images`: disposing the batch disposes them).
 */
export function mimBatch(images: tf.Tensor, rng: Random, options: Partial<MimOptions> = {}): Batch {
  const [b, ...rest] = images.shape;
  const shape = rest.slice(0, -1);
  if (rest.at(-1) !== 1) throw new Error(`mim: images must have one channel, got shape [${images.shape.join(", ")}]`);
  const size = shape.reduce((a, c) => a * c, 1);
  const masks = new Float32Array(b * size);
  for (let i = 0; i < b; i++) masks.set(drawPatchMask(shape, options, rng), i * size);
  const mask = tf.tensor(masks, images.shape);
  return { x: maskImage(images, mask), target: images, mask };
}

/** What one image looks like to the pretext: pictures for a notebook (row-major, `shape`). */
export interface MimExample {
  shape: number[];
  /** What the network is given: the image with the masked patches set to the mean of its visible pixels. */
  input: Float32Array;
  /** What it must produce under the mask: the original image. */
  target: Float32Array;
  /** 1 where the loss counts (masked pixels), 0 elsewhere. */
  mask: Float32Array;
  label: string;
}

/** The pretext's input, target and mask for ONE image [...shape, 1], the mask drawn from `rng` as in training. */
export function mimExample(image: tf.Tensor, rng: Random, options: Partial<MimOptions> = {}): MimExample {
  const o = resolveMimOptions(options);
  const shape = image.shape.slice(0, -1);
  if (image.shape.at(-1) !== 1 || (shape.length !== 2 && shape.length !== 3)) throw new Error(`mim: an example takes one image [...shape, 1] (2D or 3D), got shape [${image.shape.join(", ")}]`);
  const target = Float32Array.from(image.dataSync());
  const mask = drawPatchMask(shape, o, rng);
  let sum = 0;
  let visible = 0;
  target.forEach((v, i) => {
    if (!mask[i]) [sum, visible] = [sum + v, visible + 1];
  });
  const fill = sum / visible;
  const input = target.map((v, i) => (mask[i] ? fill : v));
  const patches = patchGrid(shape, o.patch).reduce((a, b) => a * b, 1);
  const k = maskedPatchCount(patches, o.ratio);
  const side = shape.map(() => o.patch).join("x");
  return { shape, input, target, mask, label: `${k} of ${patches} patches of ${side} px masked (set to the visible mean); predict the original pixels under the mask` };
}

/**
 * The masked-image-modelling pretext on any host: the host's U-Net with one linear output
 * channel, trained on masked copies of the host's unlabelled images. Transfer: "all-but-head".
 */
export function mimPretext<C, D>(host: GenericHost<C, D>, options: Partial<MimOptions> = {}): Pretext<C, D> {
  const o = resolveMimOptions(options);
  const network = (config: C) => {
    const net = host.network(config);
    // Fail before any training if the host's images cannot be cut into patches.
    maskedPatchCount(patchGrid(net.shape, o.patch).reduce((a, b) => a * b, 1), o.ratio);
    return net;
  };
  return {
    name: MIM_NAME,
    dependsOn: (c, d) => ({ host: host.dependsOn(c, d), settings: host.settings(c), options: o }),
    // The U-Net seeds its initialisers seed * 1000 + layer + 1 (never 0), so any seed >= 0 is seeded.
    model: (config, seed) => network(config).unet(1, seed),
    train: (config, data, model, seed, checkpointFile) => {
      network(config);
      const { steps, learningRate, batch } = host.settings(config);
      const draw = host.images(config, data);
      return train(
        {
          model,
          sample: (rng) => mimBatch(draw(rng, batch), rng, o),
          loss: (b) => maskedMse(model.apply(b.x, { training: true }) as tf.Tensor, b.target, b.mask),
        },
        { steps, learningRate, seed: 15485863 + seed, checkpointFile, checkpointEvery: 100, label: `pretrain ${MIM_NAME} (seed ${seed})` },
      );
    },
  };
}
