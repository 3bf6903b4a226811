/**
 * BatchNormalization with a fused training pass, for any rank (2D and 3D U-Nets).
 *
 * Same weights, names, initial values and update rule as tf.layers.batchNormalization over the
 * last axis: gamma, beta, moving_mean, moving_variance; in training the batch statistics
 * normalise and the moving averages move by (1 - momentum) towards the batch mean and the biased
 * batch variance; in inference the moving averages normalise. Like tfjs's layer (and unlike
 * Keras), a frozen layer (trainable = false) still uses batch statistics in training mode.
 *
 * The difference is speed and reach: training runs one forward and one backward kernel
 * (backend/kernels/batch-norm-train.ts) instead of ~40 autodiff kernels, and rank-5 inputs work
 * (tfjs's layer rejects them). On a backend without those kernels it computes the same thing
 * with tf.moments + tf.batchNorm.
 */
import * as tf from "@tensorflow/tfjs";
import { BATCH_NORM_TRAIN, hasBatchNormTrainKernel, registerBatchNormTrainKernels } from "../backend/kernels/batch-norm-train.js";

export interface BatchNormArgs {
  name?: string;
  momentum?: number;
  epsilon?: number;
  trainable?: boolean;
}

/** y, batch mean and batch variance (biased) of training-mode batch norm over the last axis. */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  registerBatchNormTrainKernels();
  if (hasBatchNormTrainKernel()) {
    return tf.engine().runKernel(BATCH_NORM_TRAIN, { x, scale: gamma, offset: beta }, { epsilon }) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  }
  // as [m, C]: tf.batchNorm's gradient fails on rank 5 (tfjs 4.22)
  const flat = tf.reshape(x, [-1, x.shape[x.shape.length - 1]]);
  const { mean, variance } = tf.moments(flat, 0);
  const y = tf.reshape(tf.batchNorm(flat, mean, variance, beta, gamma, epsilon), x.shape);
  return [y, mean as tf.Tensor1D, variance as tf.Tensor1D];
}

export class BatchNorm extends tf.layers.Layer {
  static className = "AnatomySslBatchNorm";
  readonly momentum: number;
  readonly epsilon: number;
  private gamma!: tf.LayerVariable;
  private beta!: tf.LayerVariable;
  private movingMean!: tf.LayerVariable;
  private movingVariance!: tf.LayerVariable;

  constructor(args: BatchNormArgs = {}) {
    super(args);
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`${this.name}: the last (channel) axis must have a known size, got [${shape}]`);
    this.gamma = this.addWeight("gamma", [channels], "float32", tf.initializers.ones(), undefined, true);
    this.beta = this.addWeight("beta", [channels], "float32", tf.initializers.zeros(), undefined, true);
    this.movingMean = this.addWeight("moving_mean", [channels], "float32", tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight("moving_variance", [channels], "float32", tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const gamma = this.gamma.read() as tf.Tensor1D;
      const beta = this.beta.read() as tf.Tensor1D;
      if (kwargs.training !== true) {
        return tf.batchNorm(x, this.movingMean.read(), this.movingVariance.read(), beta, gamma, this.epsilon);
      }
      const [y, mean, variance] = batchNormTraining(x, gamma, beta, this.epsilon);
      // moving = moving - (moving - batch) * (1 - momentum), tfjs's rule, outside the gradient
      const decay = 1 - this.momentum;
      for (const [moving, batch] of [[this.movingMean, mean], [this.movingVariance, variance]] as const) {
        const old = moving.read();
        moving.write(tf.sub(old, tf.mul(tf.sub(old, batch), decay)));
      }
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(BatchNorm);

/** Factory in the style of tf.layers.batchNormalization. */
export function batchNorm(args: BatchNormArgs = {}): BatchNorm {
  return new BatchNorm(args);
}
