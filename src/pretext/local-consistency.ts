/**
 * PGL (Xie et al. 2020, arXiv 2011.12640): prior-guided local consistency. Two augmented views of
 * one volume go through the same 3D encoder. Because each view's spatial transform is known
 * (transforms/views3d.ts), the voxels the views share are known exactly, so their feature maps can
 * be aligned voxel to voxel and pulled together (the local term), beside a BYOL global term on
 * the pooled bottleneck (Grill et al. 2020: an online network with a predictor chases a momentum
 * copy of itself, the target, which gets no gradient).
 *
 * The authors released no code; this follows the paper's description:
 * - online: the U-Net encoder (named exactly as buildUNet3D names it, so it transfers by name)
 *   + a projector and a predictor; target: the same encoder and projector, prefixed "target_",
 *   an exponential moving average of the online weights (`ema`), never trained by gradient;
 * - global: global average pooling of the bottleneck -> MLP projector -> MLP predictor;
 * - local: at each level in `levels` (0 = full resolution; the bottleneck is depth - 1), a 1x1x1
 *   conv projector and predictor keep one vector per voxel; the target's projection of the other
 *   view is sampled trilinearly at this view's voxel centres (views3d.correspondence);
 * - both terms are the normalised squared error 2 - 2 cos(p, z), symmetric in the two views,
 *   averaged over pairs (global) and over aligned voxels, levels and pairs (local);
 * - loss = weights.global x global + weights.local x local: PGL is both, the ablations
 *   "global only" (BYOL) and "local only" set one weight to 0 (settings, not branches).
 *
 * Online and target live in one LayersModel (two inputs fed the same views), so checkpoints hold
 * the target too and an interrupted pretraining resumes exactly.
 */
import * as tf from "@tensorflow/tfjs";
import { buildUNet3D } from "../models/unet3d.js";
import type { Random } from "../random.js";
import { correspondence, drawView, featureGrid, renderView, type ViewOptions } from "../transforms/views3d.js";
import type { Volume } from "../io/volume.js";
import type { Batch } from "../train/trainer.js";

export interface LocalConsistencyConfig {
  /** Encoder levels (U-Net depth) and channels at level 0, as the segmentation U-Net's. */
  depth: number;
  baseFilters: number;
  /** Encoder levels whose feature maps the local term aligns (0 = full resolution). */
  levels: number[];
  /** Hidden and output widths of the projector and predictor (global and local alike). */
  hidden: number;
  projection: number;
  weights: { global: number; local: number };
  /** Target = ema x target + (1 - ema) x online after every step. */
  ema: number;
}

const TARGET = "target_";

/** Names of the head layers: projector p1, p2 and predictor q1, q2 of the global or a local head. */
const headName = (head: string, layer: string) => `pgl_${head}_${layer}`;

/** The projector (and, online, the predictor) on a pooled vector ("global") or per voxel (1x1x1 convs). */
function head(x: tf.SymbolicTensor, name: string, c: LocalConsistencyConfig, perVoxel: boolean, withPredictor: boolean, prefix: string, seed: number): tf.SymbolicTensor {
  // Seeded per layer, so the same seed gives the same network (tfjs would draw unseeded weights).
  // Never 0: tfjs treats a falsy seed as "no seed".
  let index = 0;
  const init = () => tf.initializers.glorotUniform({ seed: seed * 1000 + 500 + 10 * headIndex(name) + ++index });
  const layer = (units: number, layerName: string, relu: boolean) =>
    perVoxel
      ? tf.layers.conv3d({ name: prefix + headName(name, layerName), filters: units, kernelSize: 1, activation: relu ? "relu" : "linear", kernelInitializer: init() })
      : tf.layers.dense({ name: prefix + headName(name, layerName), units, activation: relu ? "relu" : "linear", kernelInitializer: init() });
  const steps: [number, string, boolean][] = [
    [c.hidden, "p1", true],
    [c.projection, "p2", false],
    ...(withPredictor ? ([[c.hidden, "q1", true], [c.projection, "q2", false]] as [number, string, boolean][]) : []),
  ];
  for (const [units, n, relu] of steps) x = layer(units, n, relu).apply(x) as tf.SymbolicTensor;
  return x;
}

/** A distinct small number per head ("global" 0, "local{l}" l + 1) for its initialisers' seeds. */
const headIndex = (name: string) => (name === "global" ? 0 : Number(name.slice("local".length)) + 1);

/** Global average pooling over the three spatial axes (tf.layers has none for 3D: flatten, pool in 1D). */
function pool3d(x: tf.SymbolicTensor, prefix: string): tf.SymbolicTensor {
  const channels = x.shape[x.shape.length - 1] as number;
  const flat = tf.layers.reshape({ name: `${prefix}pgl_flatten`, targetShape: [-1, channels] }).apply(x) as tf.SymbolicTensor;
  return tf.layers.globalAveragePooling1d({ name: `${prefix}pgl_pool` }).apply(flat) as tf.SymbolicTensor;
}

/**
 * The pretext network for views of `view` voxels ([nx, ny, nz]). Outputs, in order: online global
 * prediction, target global projection, then per level in `levels` the online local prediction
 * and the target local projection ([b, nz/2^l, ny/2^l, nx/2^l, projection]).
 */
export function buildPglModel(c: LocalConsistencyConfig, view: readonly number[], seed: number): tf.LayersModel {
  const [nx, ny, nz] = view;
  for (const l of c.levels) if (!Number.isInteger(l) || l < 0 || l >= c.depth) throw new Error(`local-consistency: level ${l} is not an encoder level (0..${c.depth - 1})`);
  const branch = (prefix: string) => buildUNet3D({ inDepth: nz, height: ny, width: nx, inChannels: 1, nClasses: 1, depth: c.depth, baseFilters: c.baseFilters, seed, name: "pgl_encoder", namePrefix: prefix });
  const online = branch("");
  const target = branch(TARGET);
  const features = (m: tf.LayersModel, prefix: string, l: number) => m.getLayer(`${prefix}enc${l}_relu2`).output as tf.SymbolicTensor;
  const outputs: tf.SymbolicTensor[] = [
    head(pool3d(features(online, "", c.depth - 1), ""), "global", c, false, true, "", seed),
    head(pool3d(features(target, TARGET, c.depth - 1), TARGET), "global", c, false, false, TARGET, seed),
  ];
  for (const l of c.levels) {
    outputs.push(head(features(online, "", l), `local${l}`, c, true, true, "", seed));
    outputs.push(head(features(target, TARGET, l), `local${l}`, c, true, false, TARGET, seed));
  }
  const model = tf.model({ name: "pgl", inputs: [online.inputs[0], target.inputs[0]], outputs });
  // The target starts as a copy of the online network (BYOL) and is only ever moved by the EMA.
  for (const layer of model.layers) if (layer.name.startsWith(TARGET)) layer.trainable = false;
  emaUpdate(model, 0);
  return model;
}

/** (online weight, its target twin) pairs of a PGL model, cached per model. */
const twinsOf = new WeakMap<tf.LayersModel, [tf.LayerVariable, tf.LayerVariable][]>();
function twins(model: tf.LayersModel): [tf.LayerVariable, tf.LayerVariable][] {
  let pairs = twinsOf.get(model);
  if (!pairs) {
    const byName = new Map(model.weights.map((w) => [w.originalName, w]));
    pairs = model.weights.filter((w) => w.originalName.startsWith(TARGET)).map((t) => {
      const o = byName.get(t.originalName.slice(TARGET.length));
      if (!o) throw new Error(`local-consistency: target weight ${t.originalName} has no online twin`);
      return [o, t] as [tf.LayerVariable, tf.LayerVariable];
    });
    twinsOf.set(model, pairs);
  }
  return pairs;
}

/**
 * target <- ema x target + (1 - ema) x online, for every target weight (BN statistics included);
 * ema = 0 copies the online network.
 */
export function emaUpdate(model: tf.LayersModel, ema: number): void {
  for (const [o, t] of twins(model)) {
    const next = tf.tidy(() => tf.add(tf.mul(t.read(), ema), tf.mul(o.read(), 1 - ema)));
    t.write(next);
    next.dispose();
  }
}

/** The encoder of a trained PGL model, as the weights a segmentation U-Net takes (unprefixed names). */
export function onlineWeightNames(model: tf.LayersModel): string[] {
  return model.weights.map((w) => w.originalName).filter((n) => /^enc\d+_/.test(n));
}

/**
 * Draw `pairs` pairs of views from `volumes` (one volume per pair, drawn with replacement), render
 * them (linear) and pack the batch: `x` [2 x pairs, nz, ny, nx, 1] holds the first view of every
 * pair, then the second views; `c{pair}_{level}_{ab|ba}_*` each pair's correspondences at every
 * level, both ways (ab: the second view sampled at the first view's voxels).
 */
export function sampleViewPairs(volumes: Volume[], pairs: number, options: ViewOptions, levels: number[], rng: Random): Batch {
  const [nx, ny, nz] = options.shape;
  const first: Float32Array[] = [];
  const second: Float32Array[] = [];
  const batch: Batch = {};
  for (let i = 0; i < pairs; i++) {
    const v = volumes[rng.int(0, volumes.length - 1)];
    const a = drawView(v, options, rng);
    const b = drawView(v, options, rng);
    first.push(renderView(v, a, "linear").data as Float32Array);
    second.push(renderView(v, b, "linear").data as Float32Array);
    for (const l of levels) {
      const ga = featureGrid(a, l);
      const gb = featureGrid(b, l);
      packCorrespondence(batch, `c${i}_${l}_ab`, correspondence(ga, gb));
      packCorrespondence(batch, `c${i}_${l}_ba`, correspondence(gb, ga));
    }
  }
  const voxels = nx * ny * nz;
  const x = new Float32Array(2 * pairs * voxels);
  [...first, ...second].forEach((d, i) => x.set(d, i * voxels));
  batch.x = tf.tensor5d(x, [2 * pairs, nz, ny, nx, 1]);
  return batch;
}

function packCorrespondence(batch: Batch, key: string, c: ReturnType<typeof correspondence>): void {
  batch[`${key}_index`] = tf.tensor1d(c.indexA.subarray(0, c.count), "int32");
  batch[`${key}_corners`] = tf.tensor1d(c.corners.subarray(0, 8 * c.count), "int32");
  batch[`${key}_weights`] = tf.tensor3d(c.weights.subarray(0, 8 * c.count), [c.count, 8, 1]);
}

/**
 * Rows scaled to unit length. sqrt(|x|^2 + eps), not tf.norm: a ReLU head can output an exact zero
 * vector, where the norm's gradient is 0/0 = NaN and would poison every weight.
 */
export const unitRows = (x: tf.Tensor2D): tf.Tensor2D => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12)));

/** 2 - 2 cos(p, z) per row, averaged. */
function normalisedError(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.sub(2, tf.mul(2, tf.sum(tf.mul(unitRows(p), unitRows(z)), -1)))) as tf.Scalar;
}

/**
 * The PGL loss of a batch from sampleViewPairs, in training mode. Logs its "global" and "local"
 * parts (unweighted) so the curves show both whatever the weights.
 */
export function pglLoss(model: tf.LayersModel, batch: Batch, c: LocalConsistencyConfig, log?: (name: string, value: tf.Scalar) => void): tf.Scalar {
  const x = batch.x as tf.Tensor5D;
  const pairs = x.shape[0] / 2;
  const out = model.apply([x, x], { training: true }) as tf.Tensor[];
  const [gOnline, gTarget] = out as tf.Tensor2D[];
  const half = (t: tf.Tensor2D, second: boolean) => t.slice([second ? pairs : 0, 0], [pairs, -1]) as tf.Tensor2D;
  // Each view's prediction chases the target's projection of the other view.
  const global = tf.div(tf.add(normalisedError(half(gOnline, false), half(gTarget, true)), normalisedError(half(gOnline, true), half(gTarget, false))), 2) as tf.Scalar;

  const terms: tf.Scalar[] = [];
  c.levels.forEach((l, k) => {
    const online = out[2 + 2 * k] as tf.Tensor5D;
    const target = out[3 + 2 * k] as tf.Tensor5D;
    const channels = online.shape[4];
    const flat = (t: tf.Tensor5D, i: number) => t.slice([i, 0, 0, 0, 0], [1, -1, -1, -1, -1]).reshape([-1, channels]) as tf.Tensor2D;
    for (let i = 0; i < pairs; i++) {
      for (const [dir, from, to] of [["ab", i, pairs + i], ["ba", pairs + i, i]] as [string, number, number][]) {
        const key = `c${i}_${l}_${dir}`;
        const index = batch[`${key}_index`] as tf.Tensor1D;
        if (index.shape[0] === 0) continue;
        // This view's prediction at its shared voxels, against the other view's target sampled there.
        const p = tf.gather(flat(online, from), index);
        const corners = tf.gather(flat(target, to), batch[`${key}_corners`] as tf.Tensor1D).reshape([index.shape[0], 8, channels]);
        const z = tf.sum(tf.mul(corners, batch[`${key}_weights`]), 1) as tf.Tensor2D;
        terms.push(normalisedError(p as tf.Tensor2D, z));
      }
    }
  });
  if (c.weights.local > 0 && terms.length === 0) throw new Error("local-consistency: no pair of views shares a voxel; lower views.jitterMm or raise views.scale");
  const local = terms.length > 0 ? (tf.div(tf.addN(terms), terms.length) as tf.Scalar) : tf.scalar(0);
  log?.("global", global);
  log?.("local", local);
  return tf.add(tf.mul(global, c.weights.global), tf.mul(local, c.weights.local)) as tf.Scalar;
}
