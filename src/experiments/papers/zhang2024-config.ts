/**
 * Zhang et al. 2024 protocol settings. The data, splits, images, U-Net, augmentation, budgets,
 * seeds and stopping rule are Bai 2019's (bai2019-config.ts), so the two papers' pretexts meet on
 * the same footing and Bai's anatomical-position pretext runs here as one more method. What is
 * Zhang's: the heatmap ridge width, the slice-location head, the multitask weights, and the
 * long-axis (4CH) segmentation task. Every field can be overridden (`--set key=value`) and is
 * validated before anything runs (ZHANG2024_RULES).
 *
 * Where we differ from the authors' code (Forteee/Anatomy-Oriented-SSL), and why:
 * - 64x64 images at 2.5 mm and a U-Net of 8 -> 64 filters instead of 224x224 at 1.26 mm and
 *   64 -> 1024 (2 CPU cores); sigma stays the authors' 7.56 mm, so the ridge covers the same
 *   anatomy (3 px here instead of 6).
 * - Pretraining uses Bai's budget (600 steps, Adam 1e-3, batch 8, the same augmentation) for every
 *   pretext, so no pretext gets more training than another; the authors' schedule starts at 3e-4.
 * - The slice-location head keeps the authors' 128 hidden units on a 64-channel bottleneck.
 */
import type { Method } from "../protocol.js";
import { rule, type Rules } from "../settings.js";
import type { PlaneLocationWeights } from "../../pretext/plane-location-multitask.js";
import { BAI2019_CHECKS, BAI2019_FULL, BAI2019_QUICK, BAI2019_RULES, type Bai2019Config } from "./bai2019-config.js";

/** A Zhang 2024 method: which pretext it starts from, and which view it segments. */
export interface ZhangMethod extends Method {
  view: "SA" | "4CH";
}

const SA: ZhangMethod[] = [
  { name: "scratch", label: "U-Net from scratch", view: "SA" },
  { name: "planes", label: "A: plane intersections", pretext: "plane-intersection", view: "SA" },
  { name: "location", label: "B: slice location", pretext: "slice-location", view: "SA" },
  { name: "planes-location", label: "A+B multitask", pretext: "plane-location", view: "SA" },
  { name: "anatomical-position", label: "Bai 2019 anatomical positions", pretext: "anatomical-position", view: "SA" },
];

/** The same initialisations fine-tuned on 4CH images instead of SA stacks. */
const LA: ZhangMethod[] = SA.map((m) => ({ ...m, name: `4ch-${m.name}`, label: `${m.label} (4CH)`, view: "4CH" }));

export const ZHANG2024_METHODS: readonly ZhangMethod[] = [...SA, ...LA];

export interface Zhang2024Config extends Omit<Bai2019Config, "multitaskWeight"> {
  /** Pretext A: the long-axis views whose lines are drawn on SA slices, and the ridge width (mm). */
  heatmapViews: ("2CH" | "4CH")[];
  sigmaMm: number;
  /** Pretext B: the slice-location head on the U-Net bottleneck. */
  locationHead: { hidden: number; dropout: number };
  /** A+B: weights of the two MSE losses (the authors: 1 and 1). */
  weights: PlaneLocationWeights;
}

export const ZHANG2024_FULL: Zhang2024Config = {
  ...(({ multitaskWeight: _w, ...rest }) => rest)(BAI2019_FULL),
  heatmapViews: ["2CH", "4CH"],
  sigmaMm: 6 * 1.26,
  locationHead: { hidden: 128, dropout: 0.5 },
  weights: { planes: 1, location: 1 },
  // Every SA method; on 4CH the baseline and the paper's method (A+B). The other 4CH methods are
  // defined: --set methods=... adds them.
  methods: [...SA.map((m) => m.name), "4ch-scratch", "4ch-planes-location"],
};

/** --quick: the same protocol shrunk to a few minutes (a smoke test, not a result). */
export const ZHANG2024_QUICK: Zhang2024Config = {
  ...ZHANG2024_FULL,
  ...(({ multitaskWeight: _w, ...rest }) => rest)(BAI2019_QUICK),
  methods: ZHANG2024_FULL.methods,
};

const { multitaskWeight: _bai, methods: _methods, ...sharedRules } = BAI2019_RULES;

export const ZHANG2024_RULES: Rules = {
  ...sharedRules,
  methods: rule.subsetOf(ZHANG2024_METHODS.map((m) => m.name)),
  heatmapViews: rule.subsetOf(["2CH", "4CH"]),
  sigmaMm: rule.positive(),
  "locationHead.hidden": rule.int(1, 4096),
  "locationHead.dropout": rule.range(0, 0.95),
  "weights.planes": rule.nonNegative(),
  "weights.location": rule.nonNegative(),
};

export const ZHANG2024_CHECKS = [
  ...BAI2019_CHECKS,
  (c: Zhang2024Config): string[] => (c.weights.planes + c.weights.location > 0 ? [] : [`settings weights.planes = ${c.weights.planes}, weights.location = ${c.weights.location}: the A+B pretext needs at least one weight above 0`]),
  (c: Zhang2024Config): string[] => (c.heatmapViews.length > 0 ? [] : ["setting heatmapViews: pretext A needs at least one long-axis view"]),
];
