/**
 * The U-Net shape both ./unet2d.ts and ./unet3d.ts build; they differ only in their layer family
 * (2D or 3D convs, pooling and upsampling), given here as a UNetLayers.
 *
 * Level l (0 = full resolution) has baseFilters * 2^l channels. Each level runs two
 * conv3('same', no bias) -> BatchNorm -> ReLU blocks; the encoder max-pools by 2 between levels,
 * the deepest level is the bottleneck, and the decoder goes up one level (the family's
 * upsampling), concatenates the encoder's skip and runs its own two blocks. A 1-voxel conv (with
 * bias) gives class logits.
 *
 * Layers are created, and their initialisers seeded (seed*1000 + index + 1), in one fixed order,
 * so the same seed gives the same weights.
 */
import * as tf from "@tensorflow/tfjs";
import { batchNorm } from "./batch-norm.js";

type Init = () => ReturnType<typeof tf.initializers.heNormal>;

/** What a U-Net of some dimensionality is made of. */
export interface UNetLayers {
  /** Convolution with a cubic kernel of side `kernelSize`, 'same' padding. */
  conv(args: { name: string; filters: number; kernelSize: number; useBias?: boolean; kernelInitializer: ReturnType<typeof tf.initializers.heNormal> }): tf.layers.Layer;
  /** Max-pooling by 2 along every spatial axis. */
  pool(name: string): tf.layers.Layer;
  /** The layers that go up one level to `filters` channels, named `${prefix}_up` (and others). */
  up(prefix: string, filters: number, init: Init): tf.layers.Layer[];
}

export interface UNetShape {
  /** Input shape without the batch axis (spatial axes, then channels). */
  inputShape: number[];
  nClasses: number;
  depth: number;
  baseFilters: number;
  seed: number;
  name: string;
  /**
   * Prepended to every layer name (default none). A second copy of a network inside one model
   * needs its own names, e.g. the momentum target of a BYOL-style pretext ("target_enc0_conv1");
   * transfer by name then never mistakes it for the U-Net's own layers.
   */
  namePrefix?: string;
}

/** Channels at a level. */
export function levelFilters(config: { baseFilters: number }, level: number): number {
  return config.baseFilters * 2 ** level;
}

export function buildUNet(c: UNetShape, layers: UNetLayers): tf.LayersModel {
  // One seed per layer. Never 0: tfjs treats a falsy seed as "no seed" and draws a random one.
  let layerIndex = 0;
  const init: Init = () => tf.initializers.heNormal({ seed: c.seed * 1000 + ++layerIndex });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;
  const p = c.namePrefix ?? "";

  /** conv -> BN -> ReLU, twice, named `${prefix}_conv1`, `${prefix}_bn1`, ... */
  const convBlock = (x: tf.SymbolicTensor, filters: number, prefix: string): tf.SymbolicTensor => {
    for (const i of [1, 2]) {
      x = apply(layers.conv({ name: `${p}${prefix}_conv${i}`, filters, kernelSize: 3, useBias: false, kernelInitializer: init() }), x);
      x = apply(batchNorm({ name: `${p}${prefix}_bn${i}`, momentum: 0.9, epsilon: 1e-5 }), x);
      x = apply(tf.layers.reLU({ name: `${p}${prefix}_relu${i}` }), x);
    }
    return x;
  };

  const input = tf.input({ name: `${p}input`, shape: c.inputShape });
  const skips: tf.SymbolicTensor[] = [];
  let x = input;
  for (let level = 0; level < c.depth; level++) {
    x = convBlock(x, levelFilters(c, level), `enc${level}`);
    if (level < c.depth - 1) {
      skips.push(x);
      x = apply(layers.pool(`${p}enc${level}_pool`), x);
    }
  }
  for (let level = c.depth - 2; level >= 0; level--) {
    const filters = levelFilters(c, level);
    for (const layer of layers.up(`${p}dec${level}`, filters, init)) x = apply(layer, x);
    x = apply(tf.layers.concatenate({ name: `${p}dec${level}_concat`, axis: -1 }), [x, skips[level]]);
    x = convBlock(x, filters, `dec${level}`);
  }
  const logits = apply(layers.conv({ name: `${p}head`, filters: c.nClasses, kernelSize: 1, kernelInitializer: init() }), x);
  return tf.model({ name: `${p}${c.name}`, inputs: input, outputs: logits });
}

/**
 * Trainable parameters of buildUNet from the shape alone: `kernelVolume` weights per filter of a
 * block conv (9 in 2D, 27 in 3D) and `upVolume` of the up layer (which has a bias).
 */
export function unetParamCount(c: { inChannels: number; nClasses: number; depth: number; baseFilters: number }, kernelVolume: number, upVolume: number): number {
  const f = (l: number) => levelFilters(c, l);
  // two convs without bias, each followed by BN (gamma, beta)
  const block = (cin: number, cout: number) => kernelVolume * cin * cout + 2 * cout + kernelVolume * cout * cout + 2 * cout;
  let n = 0;
  for (let l = 0; l < c.depth; l++) n += block(l === 0 ? c.inChannels : f(l - 1), f(l));
  for (let l = c.depth - 2; l >= 0; l--) n += upVolume * f(l + 1) * f(l) + f(l) + block(2 * f(l), f(l));
  return n + f(0) * c.nClasses + c.nClasses;
}
