/**
 * Bai et al. 2019 protocol settings. The paper's own scale (UK Biobank, thousands of subjects,
 * 192x192 crops, long training) does not fit 2 CPU cores in 45 minutes; these settings are the
 * scaled-down version we run, stated with the results. Every field can be overridden
 * (`--set key=value`, see config.ts).
 */
import type { ViewName } from "../../datasets/types.js";
import type { ExamOptions } from "../../phantoms/cardiac/views.js";
import type { AugmentOptions } from "../../transforms/augment.js";

export const BAI2019_METHODS = ["scratch", "ssl-decoder", "ssl-all", "ssl-multitask"] as const;
export type Bai2019Method = (typeof BAI2019_METHODS)[number];

export interface Bai2019Config {
  /** "synthetic" (built-in phantoms), or a loader name ("mnms2") used with --data DIR. */
  dataset: string;
  /** Synthetic only: number of subjects generated, and how they are imaged. */
  syntheticSubjects: number;
  exam: ExamOptions;
  /** Labelled pool (budgets draw from it), fixed test set; the rest is unlabelled pretraining data. */
  labelledPool: number;
  testSubjects: number;
  splitSeed: number;
  /** Training grid: size x size pixels of `pixel` mm. */
  size: number;
  pixel: number;
  /** Anatomical positions: long-axis views and tile width. */
  positionViews: ViewName[];
  tileMm: number;
  unet: { depth: number; baseFilters: number };
  batch: number;
  pretrain: { steps: number; learningRate: number; seed: number };
  finetune: { steps: number; learningRate: number };
  /** Weight of the pretext loss in SSL+MultiTask. */
  multitaskWeight: number;
  budgets: number[];
  seeds: number[];
  methods: string[];
  augment: AugmentOptions;
}

export const BAI2019_FULL: Bai2019Config = {
  dataset: "synthetic",
  syntheticSubjects: 100,
  exam: { matrix: 64, pixel: 2.5 },
  labelledPool: 20,
  testSubjects: 20,
  splitSeed: 0,
  size: 64,
  pixel: 2.5,
  positionViews: ["2CH", "4CH"],
  tileMm: 30,
  unet: { depth: 4, baseFilters: 8 },
  batch: 8,
  pretrain: { steps: 600, learningRate: 1e-3, seed: 0 },
  finetune: { steps: 100, learningRate: 1e-3 },
  multitaskWeight: 1,
  budgets: [1, 2, 5, 10, 20],
  seeds: [1, 2, 3],
  methods: [...BAI2019_METHODS],
  augment: { rotateDeg: 20, scale: [0.9, 1.1], translatePx: 4, flip: false, gamma: [0.8, 1.25], gain: [0.9, 1.1], noise: 0.02 },
};

/** --quick: the same protocol, shrunk to run in a few minutes (a smoke test, not a result). */
export const BAI2019_QUICK: Bai2019Config = {
  ...BAI2019_FULL,
  syntheticSubjects: 40,
  labelledPool: 5,
  testSubjects: 10,
  pretrain: { ...BAI2019_FULL.pretrain, steps: 150 },
  finetune: { ...BAI2019_FULL.finetune, steps: 60 },
  budgets: [1, 5],
  seeds: [1],
};
