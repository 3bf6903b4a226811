/**
 * Rotation prediction (Gidaris, Singh & Komodakis 2018, "Unsupervised representation learning by
 * predicting image rotations", ICLR): every image is turned by k quarter turns, k in {0, 1, 2, 3},
 * and the network must say which k. To tell an upright image from a turned one it has to know
 * where things belong in an upright image, i.e. recognise the objects and their layout; a medical
 * image is acquired and resampled in a standard patient orientation (the spine at the back of an
 * axial CT slice, the right ventricle on one fixed side of the left in a short-axis slice), so the
 * same question asks where the anatomy lies.
 *
 * What we ask of the network: the host's U-Net encoder, its bottleneck global-average pooled
 * (generic.ts, pooledBottleneck), then a small head (dense `hidden` ReLU -> dense 4, layers named
 * `rot_*`) gives 4 logits; the loss is softmax cross-entropy against k. The decoder takes no part,
 * so only the encoder is trained and transferred (ROTATION_TRANSFER = "encoder").
 *
 * Where we depart from or fill in the paper, and why:
 * - One rotation per image, balanced within the batch (balancedRotations: whole shuffled cycles
 *   of 0..3, the remainder classes drawn at random). The paper feeds all four copies of every
 *   image in one batch (it found that a little better); one copy per image keeps the batch the
 *   host's budget (the same number of images through the network per step as every other
 *   pretext, as generic.ts asks), and balancing removes the batch's class mix as a cue (each class
 *   is a quarter of the batch, up to one image) and the variance of an unbalanced draw.
 * - The network: the paper's classifier is the upper part of a NIN / AlexNet; ours is the host's
 *   U-Net encoder with a 2-layer head on the pooled bottleneck, so what is learnt lives in the
 *   layers that fine-tuning receives by name.
 * - 3D (not in the paper): a volume [d, h, w] is turned in the plane of its last two axes (h, w),
 *   each axial slice alike, by the same k. Turning about the slice axis keeps the slice spacing
 *   (often coarser than in-plane) on its own axis and the volume's shape unchanged; turns that
 *   swap d with h or w would need d = h = w and isotropic voxels.
 * - Rotation by 90 degrees maps an h x w image to w x h, and the network's input shape is fixed:
 *   we require h = w (an error names the shape otherwise) rather than crop or pad, which would add
 *   a border that differs between classes and so gives the answer away.
 * - Direction: k = 1 is numpy.rot90(x, 1, axes=(h, w)), out[i][j] = x[j][w - 1 - i]:
 *   counter-clockwise as the array is displayed with row 0 at the top (matplotlib's imshow).
 *
 * A caveat the host must meet: in-plane pixels must be square (equal spacing along h and w),
 * or a quarter turn changes the anatomy's aspect ratio, a cue that needs no anatomy at all. The
 * hosts resample to grids with one in-plane pixel size (the cardiac `pixel`, the CT `grid`).
 */
import * as tf from "@tensorflow/tfjs";
import type { Pretext } from "../experiments/protocol.js";
import type { TransferScope } from "../models/transfer.js";
import type { Random } from "../random.js";
import { train, type Batch } from "../train/trainer.js";
import { encoderModel, pooledBottleneck, type GenericHost, type SegmentationNetwork } from "./generic.js";

export const ROTATION_NAME = "rotation";

/** The 4 classes: k quarter turns. */
export const ROTATIONS = 4;

/** What fine-tuning takes from a trained rotation model: the encoder (the decoder is never trained). */
export const ROTATION_TRANSFER: TransferScope = "encoder";

export interface RotationOptions {
  /** Width of the head's hidden dense layer. */
  hidden: number;
}

export const ROTATION_DEFAULTS: RotationOptions = { hidden: 64 };

export function resolveRotationOptions(options: Partial<RotationOptions> = {}): RotationOptions {
  const o = { ...ROTATION_DEFAULTS, ...options };
  if (!Number.isInteger(o.hidden) || o.hidden < 1) throw new Error(`rotation: option hidden must be a positive integer, got ${o.hidden}`);
  return o;
}

/** Throws unless the in-plane axes (the last two of a spatial shape [h, w] or [d, h, w]) are equal. */
export function assertSquareInPlane(spatial: readonly number[], what = "images"): void {
  const [h, w] = spatial.slice(-2);
  if (spatial.length < 2 || h !== w) {
    throw new Error(`rotation: a quarter turn needs square in-plane ${what} (h = w), got shape [${spatial.join(", ")}] (${spatial.length === 3 ? "d x h x w" : "h x w"})`);
  }
}

/**
 * `x` turned by k quarter turns in the plane of its in-plane axes: x is [..., h, w, c] (one image
 * [h, w, c] or [d, h, w, c], or a batch of them), so the turned axes are the 3rd and 2nd from last
 * and the channel axis stays last. k = 1 is numpy.rot90(x, 1, axes=(h, w)): out[i][j] =
 * x[j][w-1-i], counter-clockwise as displayed with row 0 at the top; k is taken mod 4. Returns a
 * new tensor (a copy for k = 0); the caller disposes it.
 */
export function rotate90(x: tf.Tensor, k: number): tf.Tensor {
  if (!Number.isInteger(k)) throw new Error(`rotation: k must be an integer number of quarter turns, got ${k}`);
  const r = x.rank;
  if (r < 3) throw new Error(`rotation: expected [..., h, w, channels], got shape [${x.shape.join(", ")}]`);
  assertSquareInPlane(x.shape.slice(0, -1), "tensors");
  const h = r - 3;
  const w = r - 2;
  const swap = Array.from({ length: r }, (_, i) => (i === h ? w : i === w ? h : i));
  return tf.tidy(() => {
    switch (((k % 4) + 4) % 4) {
      case 1: // out[i][j] = x[j][n-1-i]: mirror w, then swap h and w
        return tf.transpose(tf.reverse(x, w), swap);
      case 2: // out[i][j] = x[n-1-i][n-1-j]
        return tf.reverse(x, [h, w]);
      case 3: // out[i][j] = x[n-1-j][i]: swap h and w, then mirror w
        return tf.reverse(tf.transpose(x, swap), w);
      default:
        return tf.clone(x);
    }
  });
}

/** Each image of a batch [b, ..., h, w, c] turned by its own ks[i] quarter turns (see rotate90). */
export function rotateEach(images: tf.Tensor, ks: readonly number[]): tf.Tensor {
  if (images.shape[0] !== ks.length) throw new Error(`rotation: ${ks.length} rotations for a batch of ${images.shape[0]} images`);
  return tf.tidy(() => tf.stack(tf.unstack(images, 0).map((image, i) => rotate90(image, ks[i])), 0));
}

/**
 * `batch` labels in 0..3, as balanced as can be: floor(batch / 4) of each class, plus
 * batch mod 4 distinct classes drawn at random (so no class is favoured over a run), in a random
 * order. Uses `rng` only.
 */
export function balancedRotations(batch: number, rng: Random): number[] {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`rotation: batch must be a positive integer, got ${batch}`);
  const classes = Array.from({ length: ROTATIONS }, (_, k) => k);
  const labels: number[] = [];
  for (let n = 0; n < Math.floor(batch / ROTATIONS); n++) labels.push(...classes);
  labels.push(...rng.shuffle(classes).slice(0, batch % ROTATIONS));
  return rng.shuffle(labels);
}

/**
 * The pretext's batch from unlabelled images [b, ..., h, w, 1]: `x` the images turned by balanced
 * random quarter turns, `k` those turns (int32 [b]). Does not dispose `images`.
 */
export function rotationBatch(images: tf.Tensor, rng: Random): Batch {
  const ks = balancedRotations(images.shape[0], rng);
  return { x: rotateEach(images, ks), k: tf.tensor1d(ks, "int32") };
}

/** Mean softmax cross-entropy of `logits` [b, 4] against the turns `k` [b] (int32). */
export function rotationLoss(logits: tf.Tensor, k: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(k.toInt() as tf.Tensor1D, ROTATIONS), tf.logSoftmax(logits)), -1))) as tf.Scalar);
}

/**
 * The rotation network: the host U-Net's input and encoder (its own layers and names), the pooled
 * bottleneck, then `rot_hidden` (ReLU) and `rot_logits` (4 logits). The U-Net's decoder and head
 * are built by the host's builder but are not part of this model: their weights are disposed here.
 */
export function buildRotationModel(net: SegmentationNetwork, seed: number, options: Partial<RotationOptions> = {}): tf.LayersModel {
  const o = resolveRotationOptions(options);
  assertSquareInPlane(net.shape, "images of the host");
  const unet = net.unet(1, seed);
  // Seeded per layer, never 0 (tfjs treats a falsy seed as none); clear of the U-Net's seed*1000 + 1..
  const init = (i: number) => ({ seed: seed * 1000 + 700 + i });
  const pooled = pooledBottleneck(unet, net, "rot_pool");
  const hidden = tf.layers.dense({ name: "rot_hidden", units: o.hidden, activation: "relu", kernelInitializer: tf.initializers.heNormal(init(1)) }).apply(pooled) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ name: "rot_logits", units: ROTATIONS, kernelInitializer: tf.initializers.glorotUniform(init(2)) }).apply(hidden) as tf.SymbolicTensor;
  return encoderModel(unet, logits, ROTATION_NAME);
}

/** The rotation pretext on a host dataset (see the module comment). */
export function rotationPretext<C, D>(host: GenericHost<C, D>, options: Partial<RotationOptions> = {}): Pretext<C, D> {
  const o = resolveRotationOptions(options);
  return {
    name: ROTATION_NAME,
    dependsOn: (c, d) => ({ host: host.dependsOn(c, d), settings: host.settings(c), options: o }),
    model: (config, seed) => buildRotationModel(host.network(config), seed, o),
    train: (config, data, model, seed, checkpointFile) => {
      assertSquareInPlane(host.network(config).shape, "images of the host");
      const { steps, learningRate, batch } = host.settings(config);
      const draw = host.images(config, data);
      return train(
        {
          model,
          sample: (rng) => {
            const images = draw(rng, batch);
            try {
              return rotationBatch(images, rng);
            } finally {
              images.dispose();
            }
          },
          loss: (b) => rotationLoss(model.apply(b.x, { training: true }) as tf.Tensor, b.k),
        },
        { steps, learningRate, seed: 224737 + seed, checkpointFile, checkpointEvery: 100, label: `pretrain ${ROTATION_NAME} (seed ${seed})` },
      );
    },
  };
}

export interface RotationExample {
  /** The four inputs: `image` turned by k = 0, 1, 2, 3 quarter turns (each [...shape, 1]); the caller disposes them. */
  inputs: tf.Tensor[];
  /** What the network must answer for each input: its k. */
  targets: number[];
  /** A caption per input. */
  captions: string[];
  label: string;
}

/**
 * For one image [...shape, 1]: the four turned copies the network may be given and the class it
 * must predict for each. Nothing is drawn (all four are shown); `_rng` is accepted so every
 * generic pretext's example is called the same way.
 */
export function rotationExample(image: tf.Tensor, _rng?: Random): RotationExample {
  const ks = Array.from({ length: ROTATIONS }, (_, k) => k);
  return {
    inputs: ks.map((k) => rotate90(image, k)),
    targets: ks,
    captions: ["k = 0: as acquired", "k = 1: 90° counter-clockwise", "k = 2: 180°", "k = 3: 270° counter-clockwise (90° clockwise)"],
    label: "rotation: which of the four quarter turns (in the h, w plane) was applied?",
  };
}
