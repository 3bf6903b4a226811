/**
 * A siamese branch made of a U-Net's encoder: the encoder's layers exactly as buildUNet2D names
 * them (enc0_conv1 ... enc{D-1}_relu2), then global average pooling and a linear embedding. Both
 * inputs of a pair go through the same branch (shared weights), and after pretraining the branch's
 * encoder weights move into a segmentation U-Net by name (transferWeights(..., "encoder")).
 *
 * A pair is run as one batch (first halves, then second halves) so batch norm sees both members
 * of every pair with the same statistics; running the halves separately would let the network
 * tell them apart by their batch statistics.
 */
import * as tf from "@tensorflow/tfjs";
import { buildUNet2D } from "./unet2d.js";

export interface SiameseEncoderConfig {
  height: number;
  width: number;
  inChannels: number;
  depth: number;
  baseFilters: number;
  /** Embedding width. */
  embedding: number;
  seed: number;
}

/** The encoder of buildUNet2D(config) with a pooled linear embedding: [b, h, w, c] -> [b, embedding]. */
export function buildSiameseEncoder2D(c: SiameseEncoderConfig): tf.LayersModel {
  // Built from the full U-Net so layer names and initialisers are the segmentation network's;
  // the decoder is not on the path from input to bottleneck, so it is not part of this model.
  const unet = buildUNet2D({ height: c.height, width: c.width, inChannels: c.inChannels, nClasses: 1, depth: c.depth, baseFilters: c.baseFilters, seed: c.seed });
  const bottleneck = unet.getLayer(`enc${c.depth - 1}_relu2`).output as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: "siamese_pool" }).apply(bottleneck) as tf.SymbolicTensor;
  const embedding = tf.layers.dense({ name: "siamese_embed", units: c.embedding, kernelInitializer: tf.initializers.glorotUniform({ seed: c.seed * 1000 + 999 }) }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ name: "siamese_encoder", inputs: unet.inputs, outputs: embedding });
}

/** Euclidean distance between the embeddings of each pair: x1, x2 [b, h, w, c] -> [b]. */
export function pairDistances(encoder: tf.LayersModel, x1: tf.Tensor4D, x2: tf.Tensor4D, training: boolean): tf.Tensor1D {
  return tf.tidy(() => {
    const n = x1.shape[0];
    const e = encoder.apply(tf.concat([x1, x2], 0), { training }) as tf.Tensor2D;
    const d2 = tf.sum(tf.square(tf.sub(e.slice([0, 0], [n, -1]), e.slice([n, 0], [n, -1]))), 1);
    // sqrt has an infinite gradient at 0; a tiny floor keeps identical pairs trainable.
    return tf.sqrt(tf.add(d2, 1e-9)) as tf.Tensor1D;
  });
}

/**
 * The contrastive loss of the kidney-asymmetry code (Hadsell et al. 2006 form): for a pair with
 * distance d and y = 1 when both come from the same side, y d^2 + (1 - y) max(0, margin - d)^2,
 * averaged over pairs.
 */
export function contrastiveLoss(d: tf.Tensor1D, same: tf.Tensor1D, margin = 1): tf.Scalar {
  return tf.tidy(() => {
    const pull = tf.mul(same, tf.square(d));
    const push = tf.mul(tf.sub(1, same), tf.square(tf.relu(tf.sub(margin, d))));
    return tf.mean(tf.add(pull, push)) as tf.Scalar;
  });
}
