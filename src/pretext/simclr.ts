/**
 * SimCLR (Chen, Kornblith, Norouzi and Hinton, ICML 2020, "A simple framework for contrastive
 * learning of visual representations") as a generic baseline on any 2D host (generic.ts).
 *
 * What it asks of the network: every image of a batch of N is augmented twice, and the 2N views go
 * through the U-Net's own encoder, global average pooling of the bottleneck and a small projector
 * MLP. Among the other 2N - 1 views, each view's embedding must pick out the other view of its own
 * image (the positive) against the 2N - 2 views of the other images (the negatives): the NT-Xent
 * loss (normalised temperature-scaled cross-entropy, `ntXent`). The encoder thus learns what
 * identifies an image whatever its crop, orientation and grey levels. Only the encoder transfers
 * (scope "encoder"): like the paper, which keeps the representation h before the projector g, we
 * drop the pooling and the projector.
 *
 * Where ours departs from or fills in the paper, and why:
 * - Encoder: the host U-Net's encoder (layers enc0_conv1 ... enc{D-1}_relu2, as the segmentation
 *   network names them) instead of a ResNet-50, so the trained weights move into the segmentation
 *   network by name.
 * - Projector: dense (hidden, ReLU) -> dense (projection), 64 -> 32 by default, named simclr_*,
 *   as the paper writes g(h) = W2 ReLU(W1 h) (its released code adds batch norm; we do not).
 *   The widths are small because the U-Net bottleneck is narrow (baseFilters x 2^(depth-1)
 *   channels, e.g. 128) where the paper's is 2048 wide.
 * - All 2N views go through the network in ONE batch (first views of the N images, then the
 *   second views), so batch norm normalises both views of every image with the same statistics;
 *   two separate batches would let the network match views by their batch statistics
 *   (models/siamese.ts says the same of its pairs).
 * - Temperature tau = 0.1: the value the paper found best with l2-normalised embeddings (its
 *   Table 5) and used on ImageNet. A low tau sharpens the softmax so the gradient concentrates on
 *   the hardest negatives; in a medical batch most negatives are slices of similar anatomy, and
 *   the hard ones are what teaches the encoder to tell them apart. It is an option to sweep.
 * - Batch: the host's pretraining batch (small, e.g. 8 images -> 14 negatives per view) instead of
 *   the paper's 4096, and Adam at the host's learning rate (the shared trainer) instead of LARS:
 *   every pretext gets the same budget. Fewer negatives weaken the contrastive signal (the paper
 *   finds larger batches better); that is part of what the comparison measures.
 * - Augmentations for single-channel (grey-level) slices, each view drawn independently
 *   (`drawSimclrView`, parameters from the sampler's rng only, so a resumed run draws the same):
 *   * random resized crop: area fraction in `cropArea` (0.4-1) and aspect ratio in `cropAspect`
 *     (3/4-4/3, log-uniform), resized back to the image size bilinearly. With colour distortion,
 *     the composition the paper found to matter most (one crop predicting another covers both
 *     local-to-global and neighbouring-view prediction). Its area range starts at 0.08, which
 *     on a 128-pixel slice would leave a patch of a few structures; 0.4 keeps most of the
 *     anatomy in every view.
 *   * random horizontal and vertical flips (each with probability 1/2): the pooled embedding
 *     must not depend on orientation, a cheap extra view change. Encoded in the crop box
 *     (cropAndResize samples a box whose y1 > y2 upside down), so crop and flip are one resampling.
 *   * intensity jitter in place of the paper's colour distortion (there is one channel, so no hue
 *     or saturation): gamma (log-uniform in `gamma`), gain (`gain`) and offset (+-`offset`),
 *     applied to the image mapped to [0, 1] by its own min and max (the whole image's, so a dark
 *     crop stays dark) and mapped back, so the jitter means the same on percentile-scaled MR
 *     (0..1) and z-scored CT. The paper found colour
 *     distortion essential because crops of one image otherwise share a histogram and the task
 *     is solved by grey-level statistics alone; MR intensities have no absolute scale anyway.
 *   * Gaussian noise of standard deviation `noise` x the image's intensity range, drawn per
 *     pixel: scanner noise differs between views of the same anatomy. The paper's Gaussian blur
 *     is left out: at 16-128 pixels it would erase the small structures segmentation needs.
 * - 2D only: on 3D hosts the contrastive baseline is PGL's global-only BYOL (local-consistency.ts
 *   with weights { global: 1, local: 0 }, the "global" method of the PGL paper); model() and
 *   train() say so.
 */
import * as tf from "@tensorflow/tfjs";
import type { Pretext } from "../experiments/protocol.js";
import type { Random } from "../random.js";
import { train } from "../train/trainer.js";
import { encoderModel, pooledBottleneck, type GenericHost, type SegmentationNetwork } from "./generic.js";
import { unitRows } from "./local-consistency.js";

export const SIMCLR_NAME = "simclr";

export interface SimclrOptions {
  /** Projector widths: pooled bottleneck -> hidden (ReLU) -> projection (the embedding NT-Xent sees). */
  hidden: number;
  projection: number;
  /** NT-Xent temperature tau (> 0). */
  temperature: number;
  /** Random resized crop: fraction of the image's area kept, and width/height ratio (log-uniform). */
  cropArea: [number, number];
  cropAspect: [number, number];
  /** Horizontal and vertical flips, each with probability 1/2. */
  flip: boolean;
  /** Intensity jitter on the image mapped to [0, 1]: u -> gain * u^gamma + offset (gamma log-uniform). */
  gamma: [number, number];
  gain: [number, number];
  /** Offset drawn uniformly in [-offset, offset] (fraction of the image's range). */
  offset: number;
  /** Gaussian noise standard deviation, as a fraction of the image's intensity range. */
  noise: number;
}

export const SIMCLR_DEFAULTS: SimclrOptions = {
  hidden: 64,
  projection: 32,
  temperature: 0.1,
  cropArea: [0.4, 1],
  cropAspect: [3 / 4, 4 / 3],
  flip: true,
  gamma: [0.7, 1.4],
  gain: [0.8, 1.2],
  offset: 0.1,
  noise: 0.03,
};

/** Views that are the image itself or its flips: no crop, no intensity change, no noise. */
export const SIMCLR_FLIPS_ONLY: Partial<SimclrOptions> = { cropArea: [1, 1], cropAspect: [1, 1], gamma: [1, 1], gain: [1, 1], offset: 0, noise: 0 };

/** Defaults filled in and checked; errors name the option. */
export function resolveSimclrOptions(options: Partial<SimclrOptions> = {}): SimclrOptions {
  const o = { ...SIMCLR_DEFAULTS, ...options };
  const range = (key: keyof SimclrOptions, lo: number, hi: number) => {
    const [a, b] = o[key] as [number, number];
    if (!(a >= lo && b <= hi && a <= b)) throw new Error(`simclr: ${key} = [${a}, ${b}] must satisfy ${lo} <= lo <= hi <= ${hi}`);
  };
  for (const key of ["hidden", "projection"] as const) if (!Number.isInteger(o[key]) || o[key] < 1) throw new Error(`simclr: ${key} must be a positive integer, got ${o[key]}`);
  if (!(o.temperature > 0)) throw new Error(`simclr: temperature must be > 0, got ${o.temperature}`);
  range("cropArea", Number.MIN_VALUE, 1);
  range("cropAspect", Number.MIN_VALUE, Infinity);
  range("gamma", Number.MIN_VALUE, Infinity);
  range("gain", 0, Infinity);
  if (!(o.offset >= 0)) throw new Error(`simclr: offset must be >= 0, got ${o.offset}`);
  if (!(o.noise >= 0)) throw new Error(`simclr: noise must be >= 0, got ${o.noise}`);
  return o;
}

/** One view's augmentation, drawn before it is applied (so it can be shown and checked). */
export interface SimclrView {
  /** Crop in normalised image coordinates (0 = first pixel centre, 1 = last), before flipping. */
  crop: { y1: number; x1: number; y2: number; x2: number };
  /** Mirror left-right (along x), and upside down (along y). */
  flipX: boolean;
  flipY: boolean;
  gamma: number;
  gain: number;
  offset: number;
  /** Noise standard deviation as a fraction of the image's range (the pixels are drawn on apply). */
  noise: number;
}

/**
 * Draw one view's parameters from `rng` in a fixed order (area, aspect, position, flips, gamma,
 * gain, offset) for an image of `height` x `width` pixels. Area fraction s and aspect r = w/h in
 * pixels give a crop of sqrt(s H W / r) x sqrt(s H W r) pixels; a side longer than the image is
 * cut to the image (so an extreme aspect keeps less area, rather than redrawing).
 */
export function drawSimclrView(rng: Random, height: number, width: number, o: SimclrOptions = SIMCLR_DEFAULTS): SimclrView {
  const s = rng.uniform(o.cropArea[0], o.cropArea[1]);
  const r = Math.exp(rng.uniform(Math.log(o.cropAspect[0]), Math.log(o.cropAspect[1])));
  const h = Math.min(1, Math.sqrt((s * width) / (height * r)));
  const w = Math.min(1, Math.sqrt((s * height * r) / width));
  const y1 = rng.uniform(0, 1 - h);
  const x1 = rng.uniform(0, 1 - w);
  const flipX = o.flip && rng.next() < 0.5;
  const flipY = o.flip && rng.next() < 0.5;
  const gamma = Math.exp(rng.uniform(Math.log(o.gamma[0]), Math.log(o.gamma[1])));
  const gain = rng.uniform(o.gain[0], o.gain[1]);
  const offset = rng.uniform(-o.offset, o.offset);
  return { crop: { y1, x1, y2: y1 + h, x2: x1 + w }, flipX, flipY, gamma, gain, offset, noise: o.noise };
}

/**
 * The box tf.image.cropAndResize samples for a view: [y1, x1, y2, x2], with the ends of a flipped
 * axis swapped (cropAndResize then walks that axis backwards, so crop and flip are one resampling).
 */
export function viewBox(v: SimclrView): [number, number, number, number] {
  const { y1, x1, y2, x2 } = v.crop;
  return [v.flipY ? y2 : y1, v.flipX ? x2 : x1, v.flipY ? y1 : y2, v.flipX ? x1 : x2];
}

/**
 * Apply views to images: view k is cut from `images[sources[k]]` ([n, h, w, 1]) and returned as
 * [views.length, h, w, 1]. Per view: crop + flip resampled bilinearly to h x w; then, with lo and
 * hi the source image's min and max, u = (x - lo) / (hi - lo) clipped to [0, 1], and
 * x' = lo + (hi - lo) (gain u^gamma + offset + noise n), n ~ N(0, 1) per pixel drawn from `rng`
 * (only for views with noise > 0, in view order, then pixel order y-major). The caller disposes.
 */
export function applySimclrViews(images: tf.Tensor4D, sources: number[], views: SimclrView[], rng: Random): tf.Tensor4D {
  const [, h, w, c] = images.shape;
  if (c !== 1) throw new Error(`simclr: images must have one channel, got ${c}`);
  if (sources.length !== views.length) throw new Error(`simclr: ${views.length} views but ${sources.length} sources`);
  const pixels = h * w;
  const noise = new Float32Array(views.length * pixels);
  views.forEach((v, k) => {
    if (v.noise > 0) for (let p = 0; p < pixels; p++) noise[k * pixels + p] = v.noise * rng.normal();
  });
  return tf.tidy(() => {
    const boxes = tf.tensor2d(views.map(viewBox), [views.length, 4]);
    const index = tf.tensor1d(sources, "int32");
    const cropped = tf.image.cropAndResize(images, boxes, index, [h, w], "bilinear");
    const lo = tf.gather(tf.min(images, [1, 2, 3], true), index);
    const range = tf.maximum(tf.sub(tf.gather(tf.max(images, [1, 2, 3], true), index), lo), 1e-12);
    const perView = (values: number[]) => tf.tensor4d(values, [views.length, 1, 1, 1]);
    const u = tf.clipByValue(tf.div(tf.sub(cropped, lo), range), 0, 1);
    const jittered = tf.add(tf.mul(tf.pow(u, perView(views.map((v) => v.gamma))), perView(views.map((v) => v.gain))), perView(views.map((v) => v.offset)));
    const noisy = tf.add(jittered, tf.tensor4d(noise, [views.length, h, w, 1]));
    return tf.add(lo, tf.mul(range, noisy)) as tf.Tensor4D;
  });
}

/**
 * Two views of every image of `images` [n, h, w, 1] -> [2n, h, w, 1]: rows 0..n-1 are the first
 * views of images 0..n-1, rows n..2n-1 their second views (so view i's positive is (i + n) mod 2n,
 * as ntXent expects). Parameters are drawn first views then second views, noise last.
 */
export function simclrViews(images: tf.Tensor4D, rng: Random, o: SimclrOptions = SIMCLR_DEFAULTS): tf.Tensor4D {
  const [n, h, w] = images.shape;
  const views = Array.from({ length: 2 * n }, () => drawSimclrView(rng, h, w, o));
  const sources = Array.from({ length: 2 * n }, (_, k) => k % n);
  return applySimclrViews(images, sources, views, rng);
}

/**
 * NT-Xent of embeddings z [2n, d] whose rows i and (i + n) mod 2n are the two views of one image:
 * with s_ik = cos(z_i, z_k) / tau,
 *   loss = mean over i of  -s_i,pos(i) + log sum_{k != i} exp(s_ik),
 * i.e. the cross-entropy of picking the positive among the 2n - 1 other views, averaged over all
 * 2n anchors (both directions of every pair, as the paper's L). Its minimum over unit vectors,
 * log(1 + (2n - 2) exp(-n / ((n - 1) tau))), is reached when partners coincide and the n images
 * sit on a regular simplex (cosine -1/(n - 1) between images).
 */
export function ntXent(z: tf.Tensor2D, temperature: number): tf.Scalar {
  const views = z.shape[0];
  if (views % 2 !== 0 || views < 4) throw new Error(`simclr: NT-Xent needs an even number >= 4 of views (2 per image, >= 2 images), got ${views}`);
  const n = views / 2;
  return tf.tidy(() => {
    const u = unitRows(z);
    const logits = tf.div(tf.matMul(u, u, false, true), temperature);
    // Exclude each view from its own denominator: exp(-1e9) is exactly 0, with a zero gradient.
    const self = tf.mul(tf.eye(views), -1e9);
    const partners = tf.concat([u.slice([n, 0], [n, -1]), u.slice([0, 0], [n, -1])], 0);
    const positive = tf.div(tf.sum(tf.mul(u, partners), -1), temperature);
    return tf.mean(tf.sub(tf.logSumExp(tf.add(logits, self), -1), positive)) as tf.Scalar;
  });
}

/** The error a 3D host gets: SimCLR here is 2D; PGL's global-only BYOL is the 3D contrastive baseline. */
function require2D(net: SegmentationNetwork): void {
  if (net.dims !== 2) {
    throw new Error(
      `simclr: 2D only (crops and flips of slices), but this host's network is ${net.dims}D. On 3D hosts the contrastive baseline is PGL's global-only BYOL ` +
        `(src/pretext/local-consistency.ts with weights { global: 1, local: 0 }, the "global" method of the PGL paper), which the leaderboard uses there.`,
    );
  }
}

/**
 * The SimCLR network for `net`: the U-Net's encoder (its own layers and names), pooled bottleneck,
 * projector simclr_hidden (ReLU) -> simclr_projection; [b, h, w, 1] -> [b, projection]. The
 * U-Net's decoder and head are not on the path; their weights are freed here.
 */
export function buildSimclrModel(net: SegmentationNetwork, o: SimclrOptions, seed: number): tf.LayersModel {
  require2D(net);
  const unet = net.unet(1, seed);
  const pooled = pooledBottleneck(unet, net, "simclr_pool");
  // Seeded apart from the U-Net's initialisers (seed*1000 + 1 ... + layers); never 0 (tfjs would
  // treat it as unseeded), even for seed 0.
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 1000 + 900 + k });
  const hidden = tf.layers.dense({ name: "simclr_hidden", units: o.hidden, activation: "relu", kernelInitializer: init(1) }).apply(pooled) as tf.SymbolicTensor;
  const z = tf.layers.dense({ name: "simclr_projection", units: o.projection, kernelInitializer: init(2) }).apply(hidden) as tf.SymbolicTensor;
  return encoderModel(unet, z, "simclr");
}

/** SimCLR on a generic host: encoder + projector trained with NT-Xent on two views per image. */
export function simclrPretext<C, D>(host: GenericHost<C, D>, options: Partial<SimclrOptions> = {}): Pretext<C, D> {
  const o = resolveSimclrOptions(options);
  return {
    name: SIMCLR_NAME,
    dependsOn: (c, d) => ({ host: host.dependsOn(c, d), settings: host.settings(c), options: o }),
    model: (config, seed) => buildSimclrModel(host.network(config), o, seed),
    train: (config, data, model, seed, checkpointFile) => {
      require2D(host.network(config));
      const { steps, learningRate, batch } = host.settings(config);
      if (batch < 2) throw new Error(`simclr: batch ${batch} leaves no negatives; NT-Xent needs >= 2 images per batch`);
      const images = host.images(config, data);
      return train(
        {
          model,
          sample: (rng) => {
            const x = images(rng, batch) as tf.Tensor4D;
            const views = simclrViews(x, rng, o);
            x.dispose();
            return { x: views };
          },
          loss: (b) => ntXent(model.apply(b.x, { training: true }) as tf.Tensor2D, o.temperature),
        },
        { steps, learningRate, seed: 130817 + seed, checkpointFile, checkpointEvery: 100, label: `pretrain ${SIMCLR_NAME} (seed ${seed})` },
      );
    },
  };
}

/**
 * What the pretext shows for ONE image [h, w, 1]: its two views (each [h, w, 1], the caller
 * disposes them), the drawn parameters, and a label. The network is given both views (among the
 * other images' views) and must map them to the same direction of the embedding space.
 */
export function simclrExample(image: tf.Tensor, rng: Random, options: Partial<SimclrOptions> = {}): { views: [tf.Tensor3D, tf.Tensor3D]; params: [SimclrView, SimclrView]; label: string } {
  if (image.rank !== 3) throw new Error(`simclr: the example takes one 2D image [h, w, 1], got shape [${image.shape}] (SimCLR here is 2D only)`);
  const o = resolveSimclrOptions(options);
  const [h, w] = image.shape;
  const params: [SimclrView, SimclrView] = [drawSimclrView(rng, h, w, o), drawSimclrView(rng, h, w, o)];
  const both = tf.tidy(() => applySimclrViews(image.expandDims(0) as tf.Tensor4D, [0, 0], params, rng));
  const [a, b] = tf.unstack(both) as tf.Tensor3D[];
  both.dispose();
  const describe = (v: SimclrView) => {
    const area = (v.crop.y2 - v.crop.y1) * (v.crop.x2 - v.crop.x1);
    const flips = [v.flipX ? "left-right" : "", v.flipY ? "up-down" : ""].filter(Boolean).join(" + ") || "none";
    return `crop ${(100 * area).toFixed(0)}% of the image, flip ${flips}, gamma ${v.gamma.toFixed(2)}, gain ${v.gain.toFixed(2)}, offset ${v.offset.toFixed(2)}`;
  };
  return {
    views: [a, b],
    params,
    label: `SimCLR: two views of one image (view 1: ${describe(params[0])}; view 2: ${describe(params[1])}); their embeddings must match each other and differ from every other image's views`,
  };
}
