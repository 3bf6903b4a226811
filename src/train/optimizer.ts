/**
 * Adam with a learning rate that can change every step (tfjs's optimisers fix it at creation),
 * and the schedules the papers use.
 */
import * as tf from "@tensorflow/tfjs";

export class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999, 1e-8);
  }

  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }

  getLearningRate(): number {
    return this.learningRate;
  }
}

export type Schedule = "constant" | "cosine" | "poly";

export interface ScheduleOptions {
  schedule: Schedule;
  baseLr: number;
  totalSteps: number;
  /** Linear warm-up from 0 over this many steps (0: none). */
  warmupSteps?: number;
}

/** Learning rate at `step` (0-based). Cosine and poly (power 0.9, as in nnU-Net) decay to 0 at totalSteps. */
export function learningRateAt(step: number, o: ScheduleOptions): number {
  const warm = o.warmupSteps ?? 0;
  if (step < warm) return (o.baseLr * (step + 1)) / warm;
  const t = Math.min(1, (step - warm) / Math.max(1, o.totalSteps - warm));
  switch (o.schedule) {
    case "constant":
      return o.baseLr;
    case "cosine":
      return 0.5 * o.baseLr * (1 + Math.cos(Math.PI * t));
    case "poly":
      return o.baseLr * (1 - t) ** 0.9;
  }
}
