/**
 * Moving pretrained weights into a segmentation network, and freezing parts of it. Parts are
 * found by layer name (see unet2d.ts: enc*, dec*, head), so a pretext U-Net and a segmentation
 * U-Net of the same shape exchange weights even though their heads differ.
 */
import * as tf from "@tensorflow/tfjs";
import { unetPart } from "./unet2d.js";

/** What to copy: the encoder only, or everything except the task head. */
export type TransferScope = "encoder" | "all-but-head";

const inScope = (name: string, scope: TransferScope) => {
  const part = unetPart(name);
  return scope === "encoder" ? part === "encoder" : part === "encoder" || part === "decoder";
};

/**
 * Copy the weights in `scope` from `source` to `target` by name (including BatchNorm moving
 * statistics). Returns the names copied. Every in-scope weight of the target must exist in the
 * source with the same shape: a mismatch is an error naming the weight, never a silent skip.
 */
export function transferWeights(source: tf.LayersModel, target: tf.LayersModel, scope: TransferScope): string[] {
  const byName = new Map(source.weights.map((w) => [w.originalName, w]));
  const copied: string[] = [];
  for (const w of target.weights) {
    if (!inScope(w.originalName, scope)) continue;
    const s = byName.get(w.originalName);
    if (!s) throw new Error(`transferWeights: ${w.originalName} is not in the source model ${source.name}`);
    if (s.shape.join("x") !== w.shape.join("x")) throw new Error(`transferWeights: ${w.originalName} has shape [${s.shape}] in ${source.name} but [${w.shape}] in ${target.name}`);
    w.write(s.read());
    copied.push(w.originalName);
  }
  if (copied.length === 0) throw new Error(`transferWeights: no ${scope} weights found in ${target.name}`);
  return copied;
}

/**
 * What a pretext network has to give: its encoder and decoder when it trained the U-Net's decoder
 * (a whole-U-Net pretext: anatomical positions, restoration, masked images), else its encoder
 * (a pooled-feature pretext: rotation, contrastive).
 */
export function transferScopeOf(source: tf.LayersModel): TransferScope {
  return source.weights.some((w) => unetPart(w.originalName) === "decoder") ? "all-but-head" : "encoder";
}

/**
 * Freeze the layers of a part (no gradient updates). Note tfjs's BatchNormalization still
 * normalises with batch statistics (and updates its moving averages) in training mode even when
 * frozen, unlike Keras 2 in TensorFlow; the frozen encoder's convolutions do stay fixed.
 */
export function freezePart(model: tf.LayersModel, part: "encoder" | "decoder"): number {
  let n = 0;
  for (const layer of model.layers) {
    if (unetPart(layer.name) === part) {
      layer.trainable = false;
      n++;
    }
  }
  return n;
}

/** The variables an optimiser should update: trainable weights only. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}
