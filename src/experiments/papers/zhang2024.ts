/**
 * Zhang et al. 2024 on the shared protocol: pretrain a U-Net to regress where the long-axis
 * planes cut each SA slice (pretext A, heatmaps), where the slice lies in its stack (pretext B,
 * from the bottleneck), or both (A+B, multitask); transfer every weight but the final 1x1 conv;
 * fine-tune SA segmentation and compare with scratch and with Bai 2019's anatomical-position
 * pretext, on the same subjects, splits, budgets and seeds as Bai 2019. The same initialisations
 * are also fine-tuned on 4CH long-axis images (methods 4ch-*).
 *
 * Test predictions are scored twice: as the network gives them, and after keeping each class's
 * largest 3D connected component (the authors' post-processing); rows carry `postprocess`.
 */
import * as tf from "@tensorflow/tfjs";
import { transferWeights } from "../../models/transfer.js";
import { planeLocationLoss, type PlaneLocationWeights } from "../../pretext/plane-location-multitask.js";
import { withSliceLocationHead } from "../../pretext/slice-location.js";
import { segmentationLoss } from "../../train/losses.js";
import { Progress } from "../../train/progress.js";
import { train } from "../../train/trainer.js";
import { keepLargestComponent } from "../../transforms/largest-component.js";
import { sampleBatch } from "../batches.js";
import { prepareLongAxis, prepareStacks, type Stack } from "../cardiac-stacks.js";
import { openCardiacSplit } from "../cardiac-split.js";
import type { CellInput, CellOutput, Paper, Pretext, ProtocolData } from "../protocol.js";
import { CARDIAC_LABELS, predictStack, scoreStack } from "../segmentation-eval.js";
import { ANATOMICAL_POSITION, cardiacUNet, exampleSlice, meanDice } from "./bai2019.js";
import { writeZhang2024Report } from "./zhang2024-report.js";
import { ZHANG2024_CHECKS, ZHANG2024_FULL, ZHANG2024_METHODS, ZHANG2024_QUICK, ZHANG2024_RULES, type Zhang2024Config } from "./zhang2024-config.js";

export const PAPER = "zhang2024";
const SEG_CLASSES = 4;

export interface Zhang2024Data extends ProtocolData<Stack> {
  /**
   * Every non-test SA stack with all pretext targets (heatmaps, slice locations, and Bai's
   * anatomical positions), no labels used: the pretraining data. Same order as Bai 2019's.
   */
  pretext: Stack[];
  /** The 4CH images of the same subjects: labelled pool (by subject id), validation and test. */
  longAxis: { pool: Map<string, Stack[]>; validation: Stack[]; test: Stack[] };
}

export async function loadZhang2024Data(config: Zhang2024Config, dataDir?: string): Promise<Zhang2024Data> {
  const { dataset, description, split } = await openCardiacSplit(config, dataDir);
  const grid = { size: config.size, pixel: config.pixel };
  // Compute only the targets a chosen method needs: a dataset without long-axis views (ACDC) can
  // still run scratch; asking for a pretext it cannot support fails naming the missing view.
  const methods = ZHANG2024_METHODS.filter((m) => config.methods.includes(m.name));
  const pretexts = new Set(methods.map((m) => m.pretext));
  const zhangTargets = pretexts.has("plane-intersection") || pretexts.has("slice-location") || pretexts.has("plane-location");
  const targets = {
    ...(pretexts.has("anatomical-position") ? { tileMm: config.tileMm, positionViews: config.positionViews } : {}),
    ...(zhangTargets ? { heatmapViews: config.heatmapViews, sigmaMm: config.sigmaMm, locations: true } : {}),
  };
  const longAxisTask = methods.some((m) => m.view === "4CH");
  const progress = new Progress("loading subjects", split.train.length + split.val.length + split.test.length + split.unused.length);
  let loaded = 0;
  const load = async (id: string, labelled: boolean, pretextTargets: boolean) => {
    const subject = await dataset.loadSubject(id, { labels: labelled });
    progress.update(++loaded);
    const sa = prepareStacks(subject, { ...grid, labels: labelled, ...(pretextTargets ? targets : {}) });
    return { sa, la: labelled && longAxisTask ? prepareLongAxis(subject, "4CH", { ...grid, labels: true }) : [] };
  };
  const pool: Zhang2024Data["pool"] = [];
  const longAxis: Zhang2024Data["longAxis"] = { pool: new Map(), validation: [], test: [] };
  for (const id of split.train) {
    const { sa, la } = await load(id, true, true);
    pool.push({ id, items: sa });
    longAxis.pool.set(id, la);
  }
  const validation: Stack[] = [];
  for (const id of split.val) {
    const { sa, la } = await load(id, true, true);
    validation.push(...sa);
    longAxis.validation.push(...la);
  }
  const test: Stack[] = [];
  for (const id of split.test) {
    const { sa, la } = await load(id, true, false);
    test.push(...sa);
    longAxis.test.push(...la);
  }
  const unlabelled: Stack[] = [];
  for (const id of split.unused) unlabelled.push(...(await load(id, false, true)).sa);
  // Pretraining sees every non-test SA image without its labels, in Bai 2019's order.
  const pretext = [...unlabelled, ...pool.flatMap((p) => p.items), ...validation];
  return { pool, validation, test, pretext, longAxis, description };
}

const bottleneck = (config: Zhang2024Config) => `enc${config.unet.depth - 1}_relu2`;

/**
 * One network for the three pretexts: a U-Net regressing one heatmap per long-axis view, with the
 * slice-location head on its bottleneck. A, B and A+B differ only in the loss weights, so the
 * ablation changes nothing but what is learned.
 */
function planeLocationNet(config: Zhang2024Config, seed: number): tf.LayersModel {
  const unet = cardiacUNet(config, config.heatmapViews.length, seed);
  return withSliceLocationHead(unet, bottleneck(config), { ...config.locationHead, seed: seed + 17 });
}

function planeLocationPretext(name: string, label: string, weightsOf: (config: Zhang2024Config) => PlaneLocationWeights): Pretext<Zhang2024Config, Zhang2024Data> {
  return {
    name,
    dependsOn: (config, data) => ({
      data: data.description,
      exam: config.exam,
      split: [config.labelledPool, config.validationSubjects, config.testSubjects, config.splitSeed],
      size: config.size,
      pixel: config.pixel,
      heatmapViews: config.heatmapViews,
      sigmaMm: config.sigmaMm,
      locationHead: config.locationHead,
      weights: weightsOf(config),
      unet: config.unet,
      batch: config.batch,
      pretrain: config.pretrain,
      augment: config.augment,
    }),
    model: planeLocationNet,
    train: (config, data, model, seed, checkpointFile) =>
      train(
        {
          model,
          sample: (rng) => sampleBatch(data.pretext, [], config.batch, rng, config.augment, { heatmaps: true, locations: true }),
          loss: (b, log) => {
            const [heatmaps, location] = model.apply(b.x, { training: true }) as tf.Tensor[];
            const parts = planeLocationLoss({ heatmaps: heatmaps as tf.Tensor4D, location }, { heatmaps: b.heatmaps as tf.Tensor4D, location: b.locations as tf.Tensor1D }, weightsOf(config));
            log("planes", parts.planes);
            log("location", parts.location);
            return parts.loss;
          },
        },
        { steps: config.pretrain.steps, learningRate: config.pretrain.learningRate, seed: 104729 + seed, checkpointFile, checkpointEvery: 100, label: `pretrain ${label} (seed ${seed})` },
      ),
  };
}

/** Pretext A alone: the location head is built but its loss weight is 0. */
export const PLANE_INTERSECTION = planeLocationPretext("plane-intersection", "A: plane intersections", () => ({ planes: 1, location: 0 }));
/** Pretext B alone: only the encoder (and the head) learn; the decoder keeps its initialisation. */
export const SLICE_LOCATION = planeLocationPretext("slice-location", "B: slice location", () => ({ planes: 0, location: 1 }));
/** A+B with the configured weights (the authors: 1 and 1). */
export const PLANE_LOCATION = planeLocationPretext("plane-location", "A+B multitask", (config) => config.weights);

/** Each test prediction scored as is and after the largest-connected-component step. */
export function scoreBothWays(pred: Uint8Array, stack: Stack): CellOutput["rows"] {
  const lcc = keepLargestComponent(pred, stack.grid.shape as [number, number, number], [...CARDIAC_LABELS], "face");
  return [...scoreStack(pred, stack), ...scoreStack(lcc, stack).map((r) => ({ ...r, postprocess: "largest-component" as const }))];
}

async function runCell({ config, data, method, budget, seed, labelled, pretrained, trainOptions }: CellInput<Zhang2024Config, Zhang2024Data>): Promise<CellOutput> {
  const view = ZHANG2024_METHODS.find((m) => m.name === method.name)!.view;
  // Same initialisation for every method at a (budget, seed), and the same as Bai 2019's.
  const model = cardiacUNet(config, SEG_CLASSES, 1000 * seed + budget);
  if (pretrained) transferWeights(pretrained, model, "all-but-head");
  const longAxis = (id: string) => {
    const images = data.longAxis.pool.get(id);
    if (!images) throw new Error(`${method.name}: no 4CH images were loaded for subject ${id}`);
    return images;
  };
  const trainImages = view === "SA" ? labelled.flatMap((s) => s.items as Stack[]) : labelled.flatMap((s) => longAxis(s.id));
  const validation = view === "SA" ? data.validation : data.longAxis.validation;
  const test = view === "SA" ? data.test : data.longAxis.test;
  const result = await train(
    {
      model,
      validate: async () => meanDice(model, validation),
      sample: (rng) => sampleBatch(trainImages, ["labels"], config.batch, rng, config.augment),
      loss: (b) => segmentationLoss("ce+dice", model.apply(b.x, { training: true }) as tf.Tensor4D, b.labels as tf.Tensor3D),
    },
    trainOptions,
  );
  const rows: CellOutput["rows"] = [];
  let example: CellOutput["example"];
  for (const stack of test) {
    const pred = predictStack(model, stack);
    rows.push(...scoreBothWays(pred, stack));
    example ??= exampleSlice(stack, pred);
  }
  return { model, train: result, rows, example };
}

export const ZHANG2024: Paper<Zhang2024Config, Zhang2024Data> = {
  name: PAPER,
  title: "Zhang et al. 2024: plane intersections and slice location",
  full: ZHANG2024_FULL,
  quick: ZHANG2024_QUICK,
  methods: ZHANG2024_METHODS,
  baseline: "scratch",
  rules: ZHANG2024_RULES,
  checks: ZHANG2024_CHECKS,
  dataLoaders: ["mnms2", "acdc"],
  loadData: loadZhang2024Data,
  pretexts: [PLANE_INTERSECTION, SLICE_LOCATION, PLANE_LOCATION, ANATOMICAL_POSITION],
  runCell,
  writeReport: writeZhang2024Report,
  // The combined pretext A+B, the paper's headline, at the budget nearest the authors' default
  // of 4 ACDC patients; scored after the largest connected component, as the authors do.
  notebook: "02-zhang2024-planes-and-location",
  spotCheck: {
    methods: ["scratch", "planes-location"],
    budget: 5,
    label: "mean",
    postprocess: "largest-component",
    paperSays: "A and B each beat scratch and A+B is best (qualitative: no table value is known; the authors fine-tune on 4 ACDC patients).",
  },
};
