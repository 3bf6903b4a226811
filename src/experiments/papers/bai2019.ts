/**
 * Bai et al. 2019 on the shared protocol: pretrain a U-Net to predict anatomical positions
 * (10-way per-pixel classification defined by the long-axis planes), transfer it to SA
 * segmentation in three ways, and compare with the same U-Net from scratch.
 *
 *   scratch        random init, segmentation loss
 *   ssl-decoder    pretrained weights, encoder frozen, decoder + new head trained  (SSL+Decoder)
 *   ssl-all        pretrained weights, everything fine-tuned                        (SSL+All)
 *   ssl-multitask  pretrained weights, segmentation + pretext loss on the same labelled
 *                  slices, two heads (channels 0-3 segmentation, 4-13 positions)      (SSL+MultiTask)
 *
 * All pretrained modes take every weight but the head (the pretext network is a whole U-Net).
 * What is shared with every paper (splits, per-seed pretraining cache, stopping rule, store)
 * lives in ../protocol.ts; this file holds only what is Bai's.
 */
import * as tf from "@tensorflow/tfjs";
import { dicePerClass } from "../../metrics/overlap.js";
import { freezePart, transferScopeOf, transferWeights } from "../../models/transfer.js";
import { buildUNet2D } from "../../models/unet2d.js";
import { anatomicalPositionHead } from "../../pretext/anatomical-position.js";
import { segmentationLoss } from "../../train/losses.js";
import { Progress } from "../../train/progress.js";
import { train } from "../../train/trainer.js";
import { sampleBatch } from "../batches.js";
import { prepareStacks, type Stack } from "../cardiac-stacks.js";
import type { CellRecord } from "../results.js";
import type { CellInput, CellOutput, Paper, Pretext, ProtocolData } from "../protocol.js";
import { CARDIAC_LABELS, predictStack, scoreStack } from "../segmentation-eval.js";
import { openCardiacSplit } from "../cardiac-split.js";
import { PAPER_CLAIM, writeBai2019Report } from "./bai2019-report.js";
import { BAI2019_CHECKS, BAI2019_FULL, BAI2019_METHODS, BAI2019_QUICK, BAI2019_RULES, type Bai2019Config } from "./bai2019-config.js";

export const PAPER = "bai2019";
const SEG_CLASSES = 4;

export interface Bai2019Data extends ProtocolData<Stack> {
  /** Every non-test stack, with anatomical-position targets: the pretraining data (no labels used). */
  pretext: Stack[];
}

export async function loadBai2019Data(config: Bai2019Config, dataDir?: string): Promise<Bai2019Data> {
  const { dataset, description, split } = await openCardiacSplit(config, dataDir);
  const ids = [...split.train, ...split.val, ...split.test, ...split.unused];
  const grid = { size: config.size, pixel: config.pixel, tileMm: config.tileMm };
  const progress = new Progress("loading subjects", ids.length);
  let loaded = 0;
  const load = async (id: string, labels: boolean, positions: boolean) => {
    const subject = await dataset.loadSubject(id, { labels });
    progress.update(++loaded);
    return prepareStacks(subject, { ...grid, labels, positionViews: positions ? config.positionViews : undefined });
  };
  const pool = [];
  for (const id of split.train) pool.push({ id, items: await load(id, true, true) });
  const validation: Stack[] = [];
  for (const id of split.val) validation.push(...(await load(id, true, true)));
  const test: Stack[] = [];
  for (const id of split.test) test.push(...(await load(id, true, false)));
  const unlabelled: Stack[] = [];
  for (const id of split.unused) unlabelled.push(...(await load(id, false, true)));
  // Pretraining sees every non-test image without its labels.
  const pretext = [...unlabelled, ...pool.flatMap((p) => p.items), ...validation];
  return { pool, validation, test, pretext, description };
}

/** The U-Net every cardiac pretext and fine-tuning shares (Zhang 2024 builds the same). */
export function cardiacUNet(config: Pick<Bai2019Config, "size" | "unet">, nClasses: number, seed: number): tf.LayersModel {
  return buildUNet2D({ height: config.size, width: config.size, inChannels: 1, nClasses, depth: config.unet.depth, baseFilters: config.unet.baseFilters, seed });
}

const positionChannels = (config: Pick<Bai2019Config, "positionViews">) => anatomicalPositionHead(config.positionViews.length).channels;

/** Mean over stacks of the 3D Dice averaged over LV, MYO, RV: the validation score. */
export function meanDice(model: tf.LayersModel, stacks: Stack[], channels?: [number, number]): number {
  let sum = 0;
  for (const stack of stacks) {
    const d = dicePerClass(predictStack(model, stack, { channels }), stack.labels!, [...CARDIAC_LABELS]);
    sum += d.reduce((a, b) => a + b, 0) / d.length;
  }
  return sum / stacks.length;
}

export async function runBai2019Cell({ config, data, method, budget, seed, labelled, pretrained, trainOptions }: CellInput<Bai2019Config, Bai2019Data>): Promise<CellOutput> {
  const multitask = method.name === "ssl-multitask";
  const nClasses = SEG_CLASSES + (multitask ? positionChannels(config) : 0);
  const channels: [number, number] | undefined = multitask ? [0, SEG_CLASSES] : undefined;
  // Same initialisation for every method at a (budget, seed): only the pretrained parts differ.
  const model = cardiacUNet(config, nClasses, 1000 * seed + budget);
  // A whole-U-Net pretext gives all but its head; an encoder-only one (a generic baseline) its encoder.
  if (pretrained) transferWeights(pretrained, model, transferScopeOf(pretrained));
  if (method.name === "ssl-decoder") freezePart(model, "encoder");
  const labelledStacks = labelled.flatMap((s) => s.items as Stack[]);
  const segLogits = (logits: tf.Tensor4D) => (multitask ? (logits.slice([0, 0, 0, 0], [-1, -1, -1, SEG_CLASSES]) as tf.Tensor4D) : logits);
  const result = await train(
    {
      model,
      validate: async () => meanDice(model, data.validation, channels),
      // SSL+MultiTask trains both heads on the same labelled slices (they have long-axis planes
      // too, so their anatomical positions are known): one forward pass, two losses.
      sample: (rng) => sampleBatch(labelledStacks, multitask ? ["labels", "positions"] : ["labels"], config.batch, rng, config.augment),
      loss: (b, log) => {
        const logits = model.apply(b.x, { training: true }) as tf.Tensor4D;
        const seg = segmentationLoss("ce+dice", segLogits(logits), b.labels as tf.Tensor3D);
        if (!multitask) return seg;
        const pos = segmentationLoss("ce", logits.slice([0, 0, 0, SEG_CLASSES], [-1, -1, -1, -1]) as tf.Tensor4D, b.positions as tf.Tensor3D);
        log("segmentation", seg);
        log("pretext", pos);
        return seg.add(pos.mul(config.multitaskWeight)) as tf.Scalar;
      },
    },
    trainOptions,
  );
  const rows: CellOutput["rows"] = [];
  let example: CellOutput["example"];
  for (const stack of data.test) {
    const pred = predictStack(model, stack, { channels });
    rows.push(...scoreStack(pred, stack));
    example ??= exampleSlice(stack, pred);
  }
  return { model, train: result, rows, example };
}

/** The mid-ventricular slice (most LV pixels) of the first test stack, for the example figure. */
export function exampleSlice(stack: Stack, pred: Uint8Array): NonNullable<CellRecord["example"]> {
  const area = stack.size * stack.size;
  let best = 0;
  let bestCount = -1;
  for (let k = 0; k < stack.slices; k++) {
    let n = 0;
    for (let o = k * area; o < (k + 1) * area; o++) if (stack.labels?.[o] === 1) n++;
    if (n > bestCount) [best, bestCount] = [k, n];
  }
  const labels = Buffer.from(pred.subarray(best * area, (best + 1) * area)).toString("base64");
  return { subject: stack.subject, phase: stack.phase, slice: best, size: stack.size, labels };
}

/** What the anatomical-position pretext reads: Bai's settings, and stacks with position targets. */
type PositionConfig = Pick<Bai2019Config, "exam" | "labelledPool" | "validationSubjects" | "testSubjects" | "splitSeed" | "size" | "pixel" | "positionViews" | "tileMm" | "unet" | "batch" | "pretrain" | "augment">;

/**
 * The anatomical-position pretext: a whole U-Net with one output channel per tile class. Zhang
 * 2024 runs it too, on the same splits; the same settings give the same cache key there.
 */
export const ANATOMICAL_POSITION: Pretext<PositionConfig, { pretext: Stack[]; description: string }> = {
  name: "anatomical-position",
  dependsOn: (config, data) => ({ data: data.description, exam: config.exam, split: [config.labelledPool, config.validationSubjects, config.testSubjects, config.splitSeed], size: config.size, pixel: config.pixel, positionViews: config.positionViews, tileMm: config.tileMm, unet: config.unet, batch: config.batch, pretrain: config.pretrain, augment: config.augment }),
  model: (config, seed) => cardiacUNet(config, positionChannels(config), seed),
  train: (config, data, model, seed, checkpointFile) =>
    train(
      {
        model,
        sample: (rng) => sampleBatch(data.pretext, ["positions"], config.batch, rng, config.augment),
        loss: (b) => segmentationLoss("ce", model.apply(b.x, { training: true }) as tf.Tensor4D, b.positions as tf.Tensor3D),
      },
      { steps: config.pretrain.steps, learningRate: config.pretrain.learningRate, seed: 104729 + seed, checkpointFile, checkpointEvery: 100, label: `pretrain anatomical positions (seed ${seed})` },
    ),
};

export const BAI2019: Paper<Bai2019Config, Bai2019Data> = {
  name: PAPER,
  title: "Bai et al. 2019: anatomical position prediction",
  full: BAI2019_FULL,
  quick: BAI2019_QUICK,
  methods: BAI2019_METHODS,
  baseline: "scratch",
  rules: BAI2019_RULES,
  checks: BAI2019_CHECKS,
  dataLoaders: ["mnms2", "acdc"],
  loadData: loadBai2019Data,
  pretexts: [ANATOMICAL_POSITION],
  runCell: runBai2019Cell,
  writeReport: writeBai2019Report,
  // The paper's one confirmed number: 5 annotated subjects, scratch vs SSL (SSL+All is the mode
  // the README's headline quotes).
  notebook: "01-bai2019-anatomical-position",
  spotCheck: {
    methods: ["scratch", "ssl-all"],
    budget: PAPER_CLAIM.budget,
    label: "mean",
    paperSays: `with ${PAPER_CLAIM.budget} annotated subjects, SA mean Dice ${PAPER_CLAIM.scratch} from scratch -> ${PAPER_CLAIM.ssl} with SSL (confirmed; UK Biobank, not our phantoms).`,
    paperValues: { scratch: PAPER_CLAIM.scratch, "ssl-all": PAPER_CLAIM.ssl },
  },
};
