/**
 * Segmentation losses on logits [batch, ...spatial, classes] and integer label maps
 * [batch, ...spatial]: 2D ([b, h, w]) and 3D ([b, d, h, w]) alike, classes on the last axis.
 * Cross-entropy trains every pixel; soft Dice counters class imbalance (small structures such as
 * the myocardium); their sum is the usual nnU-Net-style default.
 */
import * as tf from "@tensorflow/tfjs";

/** Mean softmax cross-entropy over pixels. `labels` int32 [b, h, w] with values in [0, classes). */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.rank - 1];
    const onehot = tf.oneHot(labels.toInt().flatten(), classes);
    const flat = logits.reshape([-1, classes]);
    return tf.losses.softmaxCrossEntropy(onehot, flat) as tf.Scalar;
  });
}

/**
 * 1 - mean soft Dice over the foreground classes (class 0 is background and excluded), with
 * sums over the whole batch (batch Dice: stable when a class is absent from one image).
 * `smooth` keeps the ratio defined when a class is absent from the whole batch.
 */
export function softDice(logits: tf.Tensor, labels: tf.Tensor, smooth = 1): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.rank - 1];
    const probs = tf.softmax(logits).reshape([-1, classes]).slice([0, 1], [-1, classes - 1]);
    const onehot = tf.oneHot(labels.toInt().flatten(), classes).toFloat().slice([0, 1], [-1, classes - 1]);
    const intersection = probs.mul(onehot).sum(0);
    const denominator = probs.sum(0).add(onehot.sum(0));
    const dice = intersection.mul(2).add(smooth).div(denominator.add(smooth));
    return tf.scalar(1).sub(dice.mean()) as tf.Scalar;
  });
}

export type SegmentationLoss = "ce" | "dice" | "ce+dice";

export function segmentationLoss(kind: SegmentationLoss, logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  switch (kind) {
    case "ce":
      return crossEntropy(logits, labels);
    case "dice":
      return softDice(logits, labels);
    case "ce+dice":
      return tf.tidy(() => crossEntropy(logits, labels).add(softDice(logits, labels)) as tf.Scalar);
  }
}
