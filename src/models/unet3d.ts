/**
 * A configurable 3D U-Net (Cicek et al. 2016 shape), the 3D twin of ./unet2d.ts, built with the
 * tf.layers functional API. It is the network PGL (Xie et al. 2020) pretrains.
 *
 * Input [D, H, W, C] (channels last; a batch is [B, D, H, W, C]). Level l (0 = full resolution)
 * has baseFilters * 2^l channels. Each level runs two conv3x3x3('same', no bias) -> BatchNorm ->
 * ReLU blocks; the encoder max-pools 2x2x2 between levels, the deepest level is the bottleneck,
 * and the decoder upsamples by a 2x2x2 stride-2 transposed conv (with bias), concatenates the
 * encoder's skip and runs its own two blocks. A 1x1x1 conv (with bias) gives per-voxel class
 * logits (no softmax: losses take logits).
 *
 * Layer names are those of the 2D U-Net, so transfer-by-name (./transfer.ts) and unetPart() work
 * unchanged:
 *   enc{l}_conv{1,2}, enc{l}_bn{1,2}, enc{l}_relu{1,2}, enc{l}_pool   encoder, l = 0..depth-1
 *                                                                    (enc{depth-1} is the bottleneck)
 *   dec{l}_up, dec{l}_concat, dec{l}_conv{1,2}, dec{l}_bn{1,2}, ...   decoder, l = depth-2..0
 *   head                                                             1x1x1 conv to logits
 *
 * Defaults (UNET3D_DEFAULTS) are the 3D reference of bench/train-step.ts: 64^3 x 1 input, 3 levels,
 * 8 base filters, 2 classes (foreground/background: 85,186 trainable parameters). `depth` is the
 * number of levels, as in UNet2DConfig; the input's depth axis is `inDepth`.
 *
 * BN (./batch-norm.ts, rank 5 supported) uses PyTorch's epsilon and momentum, and the convs
 * before it have no bias, so the network matches the usual PyTorch 3D U-Net parameter for
 * parameter (bench/train_step_torch.py --dims 3 is that twin).
 *
 * tfjs-core has no gradient for conv3dTranspose's op; importing this module registers one
 * (../backend/kernels/conv3d-transpose-gradient.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { registerConv3dTransposeGradient } from "../backend/kernels/conv3d-transpose-gradient.js";
import { batchNorm } from "./batch-norm.js";
import { levelFilters } from "./unet2d.js";

registerConv3dTransposeGradient();

export interface UNet3DConfig {
  /** Input size along depth, height and width; each must be divisible by 2^(depth-1). */
  inDepth: number;
  height: number;
  width: number;
  /** Input channels. */
  inChannels: number;
  /** Output classes (logit channels), background included. */
  nClasses: number;
  /** Number of resolution levels, bottleneck included (depth-1 poolings). */
  depth: number;
  /** Channels at level 0; doubled at every level down. */
  baseFilters: number;
  /** Seed (integer >= 0) for the weight initialisers, so the same seed gives the same weights. */
  seed: number;
  /** Model name. */
  name: string;
}

export const UNET3D_DEFAULTS: UNet3DConfig = {
  inDepth: 64,
  height: 64,
  width: 64,
  inChannels: 1,
  nClasses: 2,
  depth: 3,
  baseFilters: 8,
  seed: 0,
  name: "unet3d",
};

/** Fill in defaults and check the config; errors say which field is wrong. */
export function resolveUNet3DConfig(config: Partial<UNet3DConfig> = {}): UNet3DConfig {
  const c = { ...UNET3D_DEFAULTS, ...config };
  for (const key of ["inDepth", "height", "width", "inChannels", "nClasses", "depth", "baseFilters"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw new Error(`UNet3D config: ${key} must be a positive integer, got ${c[key]}`);
  }
  const factor = 2 ** (c.depth - 1);
  if (c.inDepth % factor !== 0 || c.height % factor !== 0 || c.width % factor !== 0) {
    throw new Error(`UNet3D config: inDepth, height and width (${c.inDepth}x${c.height}x${c.width}) must be divisible by 2^(depth-1) = ${factor}`);
  }
  if (!Number.isInteger(c.seed) || c.seed < 0) throw new Error(`UNet3D config: seed must be an integer >= 0, got ${c.seed}`);
  return c;
}

export function buildUNet3D(config: Partial<UNet3DConfig> = {}): tf.LayersModel {
  const c = resolveUNet3DConfig(config);
  // One seed per layer. Never 0: tfjs treats a falsy seed as "no seed" and draws a random one.
  let layerIndex = 0;
  const init = () => tf.initializers.heNormal({ seed: c.seed * 1000 + ++layerIndex });

  /** conv3x3x3 -> BN -> ReLU, twice, named `${prefix}_conv1`, `${prefix}_bn1`, ... */
  const convBlock = (x: tf.SymbolicTensor, filters: number, prefix: string): tf.SymbolicTensor => {
    for (const i of [1, 2]) {
      x = tf.layers
        .conv3d({ name: `${prefix}_conv${i}`, filters, kernelSize: 3, padding: "same", useBias: false, kernelInitializer: init() })
        .apply(x) as tf.SymbolicTensor;
      x = batchNorm({ name: `${prefix}_bn${i}`, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.reLU({ name: `${prefix}_relu${i}` }).apply(x) as tf.SymbolicTensor;
    }
    return x;
  };

  const input = tf.input({ name: "input", shape: [c.inDepth, c.height, c.width, c.inChannels] });
  const skips: tf.SymbolicTensor[] = [];
  let x = input;
  for (let level = 0; level < c.depth; level++) {
    x = convBlock(x, levelFilters(c, level), `enc${level}`);
    if (level < c.depth - 1) {
      skips.push(x);
      x = tf.layers.maxPooling3d({ name: `enc${level}_pool`, poolSize: 2, strides: 2 }).apply(x) as tf.SymbolicTensor;
    }
  }
  for (let level = c.depth - 2; level >= 0; level--) {
    const filters = levelFilters(c, level);
    x = tf.layers
      .conv3dTranspose({ name: `dec${level}_up`, filters, kernelSize: 2, strides: 2, padding: "valid", kernelInitializer: init() })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.concatenate({ name: `dec${level}_concat`, axis: -1 }).apply([x, skips[level]]) as tf.SymbolicTensor;
    x = convBlock(x, filters, `dec${level}`);
  }
  const logits = tf.layers
    .conv3d({ name: "head", filters: c.nClasses, kernelSize: 1, kernelInitializer: init() })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ name: c.name, inputs: input, outputs: logits });
}

/**
 * Trainable parameter count from the config alone (what buildUNet3D produces); the tests check it
 * against the built model, and the benchmark against PyTorch.
 */
export function unet3dParamCount(config: Partial<UNet3DConfig> = {}): number {
  const c = resolveUNet3DConfig(config);
  const f = (l: number) => levelFilters(c, l);
  // two 3x3x3 convs without bias, each followed by BN (gamma, beta)
  const block = (cin: number, cout: number) => 27 * cin * cout + 2 * cout + 27 * cout * cout + 2 * cout;
  let n = 0;
  for (let l = 0; l < c.depth; l++) n += block(l === 0 ? c.inChannels : f(l - 1), f(l));
  for (let l = c.depth - 2; l >= 0; l--) {
    n += 8 * f(l + 1) * f(l) + f(l); // 2x2x2 transposed conv with bias
    n += block(2 * f(l), f(l));
  }
  return n + f(0) * c.nClasses + c.nClasses;
}
