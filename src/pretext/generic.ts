/**
 * What an anatomy-agnostic ("generic") pretext needs from the dataset it pretrains on, so the
 * same rotation, restoration, contrastive and masked-image pretexts run on cardiac slices (2D)
 * and on abdominal CT volumes (3D) and are compared with each paper's own pretext on the same
 * splits, budgets and seeds.
 *
 * A dataset (a host paper) supplies unlabelled images exactly as its segmentation network sees
 * them and the builder of that network: a pretext that trains the network's own layers (encoder,
 * or encoder and decoder) hands them to fine-tuning by name (models/transfer.ts), so nothing of
 * the pretext's heads reaches the segmentation network.
 */
import * as tf from "@tensorflow/tfjs";
import type { Random } from "../random.js";

/** The host's segmentation network and the images it takes. */
export interface SegmentationNetwork {
  /** 2: slices [b, h, w, 1]; 3: volumes [b, d, h, w, 1]. */
  dims: 2 | 3;
  /** Spatial shape of one image: [h, w] or [d, h, w]. */
  shape: number[];
  /** U-Net levels (the bottleneck is layer `enc{depth-1}_relu2`). */
  depth: number;
  /** The host's U-Net with `nOut` output channels, seeded; layer names as models/unet.ts gives them. */
  unet(nOut: number, seed: number): tf.LayersModel;
}

/** Pretraining budget: the host's own pretext budget, so every pretext gets the same steps. */
export interface GenericSettings {
  steps: number;
  learningRate: number;
  batch: number;
}

/** How a host paper plugs a generic pretext in. */
export interface GenericHost<C, D> {
  network(config: C): SegmentationNetwork;
  /**
   * A batch of unlabelled, non-test images [b, ...shape, 1] as the segmentation network sees
   * them (normalised, not augmented), drawn with `rng` only; the caller disposes it.
   */
  images(config: C, data: D): (rng: Random, batch: number) => tf.Tensor;
  settings(config: C): GenericSettings;
  /** Everything that decides the images and the network (hashed into the pretraining cache key). */
  dependsOn(config: C, data: D): unknown;
}

/** Name of the U-Net's bottleneck output layer. */
export const bottleneckLayer = (depth: number): string => `enc${depth - 1}_relu2`;

/**
 * The encoder of `unet` up to its bottleneck, global-average pooled: [b, ...shape, 1] ->
 * [b, channels]. The layers are the U-Net's own (same names and weights), so training this
 * model trains what transferWeights(..., "encoder") later copies.
 */
export function pooledBottleneck(unet: tf.LayersModel, net: Pick<SegmentationNetwork, "dims" | "depth">, name = "pooled"): tf.SymbolicTensor {
  const bottleneck = unet.getLayer(bottleneckLayer(net.depth)).output as tf.SymbolicTensor;
  if (net.dims === 2) return tf.layers.globalAveragePooling2d({ name }).apply(bottleneck) as tf.SymbolicTensor;
  // tf.layers has no 3D global pooling: flatten the spatial axes, then pool in 1D.
  const channels = bottleneck.shape[bottleneck.shape.length - 1] as number;
  const flat = tf.layers.reshape({ name: `${name}_flatten`, targetShape: [-1, channels] }).apply(bottleneck) as tf.SymbolicTensor;
  return tf.layers.globalAveragePooling1d({ name }).apply(flat) as tf.SymbolicTensor;
}

/**
 * A model from the U-Net's input to `output` (a head on its encoder), freeing the U-Net layers
 * that are not on that path: the host's builder made the decoder's and head's variables, and
 * nothing else would ever dispose them.
 */
export function encoderModel(unet: tf.LayersModel, output: tf.SymbolicTensor, name: string): tf.LayersModel {
  const model = tf.model({ name, inputs: unet.inputs, outputs: output });
  const kept = new Set(model.layers);
  for (const layer of unet.layers) if (!kept.has(layer) && layer.weights.length > 0) layer.dispose();
  return model;
}
