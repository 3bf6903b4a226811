/**
 * The kidney-asymmetry paper on the shared protocol: pretrain a siamese encoder to tell whether
 * two sections come from the same side of the body (pretext/kidney-side.ts), move one branch into
 * a U-Net's encoder, fine-tune kidney and tumour segmentation on axial CT, and compare with the
 * same U-Net from scratch: Dice and HD95, and how fast validation Dice rises (the paper's second
 * claim), on the curves every cell stores.
 *
 * Pretext variants (KIDNEY_PRETEXTS): label-free sections or the authors' kidney-mask crops, left
 * side mirrored or not. The fine-tuned methods use the label-free mirrored one (the only variant
 * that is both label-free and not solvable from where the spine sits) and the authors' own
 * (mask crops, unmirrored: an upper bound that uses annotations); the other two are pretrained
 * for their held-out accuracy only (config.pretrainOnly).
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { splitSubjects } from "../../datasets/split.js";
import { Kits19Dataset } from "../../datasets/kits19.js";
import type { Volume } from "../../io/volume.js";
import { buildSiameseEncoder2D, contrastiveLoss, pairDistances } from "../../models/siamese.js";
import { transferWeights } from "../../models/transfer.js";
import { buildUNet2D } from "../../models/unet2d.js";
import { findBodyLandmarks, kidneySections, samplePairs, windowAndStandardize, type SubjectSections } from "../../pretext/kidney-side.js";
import { projectRoot } from "../../provenance.js";
import { Random } from "../../random.js";
import { segmentationLoss } from "../../train/losses.js";
import { Progress } from "../../train/progress.js";
import { train } from "../../train/trainer.js";
import { NO_AUGMENT } from "../../transforms/augment.js";
import { foregroundOversampling, sampleBatch } from "../batches.js";
import { prepareCtStack } from "../ct-stacks.js";
import type { CellInput, CellOutput, Paper, Pretext, ProtocolData } from "../protocol.js";
import { predictStack, scoreStack } from "../segmentation-eval.js";
import type { SliceStack } from "../slice-stack.js";
import { ensureSyntheticKits19 } from "../synthetic-abdomen.js";
import { kidneyRealism, writeKidneyReport } from "./kidney-report.js";
import { KIDNEY_CHECKS, KIDNEY_FULL, KIDNEY_METHODS, KIDNEY_PRETEXTS, KIDNEY_QUICK, KIDNEY_RULES, type KidneyConfig, type KidneyPretextName } from "./kidney-config.js";

export const PAPER = "kidney";
/** Background, kidney, tumour (KiTS19's labels). */
const SEG_CLASSES = 3;

export interface KidneyData extends ProtocolData<SliceStack> {
  /** Sections of every non-test subject, per pretext variant: the pretraining data. */
  pretext: Record<KidneyPretextName, SubjectSections[]>;
  /** The same from the test subjects: held out, only to measure each pretext's accuracy. */
  heldOut: Record<KidneyPretextName, SubjectSections[]>;
  /**
   * Every non-test case on the segmentation grid, without labels (pool, validation and the rest):
   * what a generic pretext pretrains on (papers/baselines-kidney.ts). This paper's own pretexts
   * read their sections instead.
   */
  unlabelled: SliceStack[];
  /** The phantom beside the real samples (synthetic data only). */
  realism: { table: string; note: string };
}

async function openData(config: KidneyConfig, dataDir?: string): Promise<{ dataset: Kits19Dataset; description: string }> {
  if (dataDir) return { dataset: new Kits19Dataset(dataDir), description: `kits19 at ${dataDir}` };
  if (config.dataset !== "synthetic") throw new Error(`setting dataset = ${config.dataset}: a real dataset needs --data DIR`);
  const dir = await ensureSyntheticKits19(config.syntheticSubjects, config.ct);
  const c = config.ct;
  return { dataset: new Kits19Dataset(dir), description: `${config.syntheticSubjects} synthetic abdominal CTs (phantoms/abdomen, ${c.matrix}x${c.matrix}x${c.slices} at ${c.pixelMm}x${c.pixelMm}x${c.sliceMm} mm, tumour in about ${Math.round(c.tumorProbability * 100)}%) in ${path.relative(projectRoot(), dir)}` };
}

export async function loadKidneyData(config: KidneyConfig, dataDir?: string): Promise<KidneyData> {
  const { dataset, description } = await openData(config, dataDir);
  const ids = await dataset.listCases();
  const needed = config.labelledPool + config.validationSubjects + config.testSubjects;
  if (ids.length < needed) throw new Error(`${dataset.root}: found ${ids.length} KiTS19 case(s), but the protocol needs labelledPool + validationSubjects + testSubjects = ${needed}; see data-manifests/kits19.json, or lower those settings with --set`);
  const split = splitSubjects(ids, { counts: { train: config.labelledPool, val: config.validationSubjects, test: config.testSubjects } }, config.splitSeed);
  const names = Object.keys(KIDNEY_PRETEXTS) as KidneyPretextName[];
  const empty = () => Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<KidneyPretextName, SubjectSections[]>;
  // Realism is measured on 12 phantoms with the run's scan settings (real data: not applicable).
  const realism = dataDir ? { table: "", note: `Real data (${dataDir}): no phantom to compare.` } : await kidneyRealism(Array.from({ length: 12 }, (_, i) => i + 1), config.ct);
  const data: KidneyData = { pool: [], validation: [], test: [], unlabelled: [], pretext: empty(), heldOut: empty(), realism, description };
  const progress = new Progress("loading cases", ids.length);
  let loaded = 0;
  type Role = "pool" | "validation" | "test" | "unlabelled";
  const all: [Role, string][] = [...split.train.map((id) => ["pool", id] as [Role, string]), ...split.val.map((id) => ["validation", id] as [Role, string]), ...split.test.map((id) => ["test", id] as [Role, string]), ...split.unused.map((id) => ["unlabelled", id] as [Role, string])];
  for (const [role, id] of all) {
    // Every case needs its labels for the mask-cropped pretext (the authors' code uses them).
    const c = await dataset.loadCase(id, { image: true, labels: true });
    const hu = c.image as Volume;
    const landmarks = findBodyLandmarks(hu);
    const standardized = windowAndStandardize(hu.data);
    if (role !== "unlabelled") {
      const stack = prepareCtStack(id, hu, c.labels, config.grid, landmarks, standardized);
      if (role === "pool") data.pool.push({ id, items: [stack] });
      else data[role].push(stack);
    }
    if (role !== "test") data.unlabelled.push(prepareCtStack(id, hu, undefined, config.grid, landmarks, standardized));
    for (const name of names) {
      const v = KIDNEY_PRETEXTS[name];
      const s = config.sections;
      const sections = kidneySections(hu, standardized, { mode: v.mode, mirror: v.mirror, cropPx: s.cropPx, boxMm: s.boxMm, lateralMm: s.lateralMm, anteriorMm: s.anteriorMm, sections: s.perSide }, c.labels, landmarks);
      (role === "test" ? data.heldOut : data.pretext)[name].push(sections);
    }
    progress.update(++loaded);
  }
  return data;
}

function siamese(config: KidneyConfig, seed: number): tf.LayersModel {
  return buildSiameseEncoder2D({ height: config.sections.cropPx, width: config.sections.cropPx, inChannels: 1, depth: config.unet.depth, baseFilters: config.unet.baseFilters, embedding: config.embedding, seed });
}

/** Share of held-out pairs the rule "same side when d < threshold" gets right. */
export function pairAccuracy(encoder: tf.LayersModel, subjects: SubjectSections[], config: KidneyConfig, seed: number): number {
  // Seeded by the subjects drawn from too, so two sets never share one same/other sequence.
  const rng = new Random(900001 + seed + 7 * subjects.length);
  let right = 0;
  let total = 0;
  for (let left = config.heldOutPairs; left > 0; left -= 200) {
    const n = Math.min(200, left);
    const b = samplePairs(subjects, n, config.sections.cropPx, rng);
    const d = pairDistances(encoder, b.x1, b.x2, false);
    const dv = d.dataSync();
    const same = b.same.dataSync();
    for (let i = 0; i < n; i++) if ((dv[i] < config.threshold) === (same[i] === 1)) right++;
    total += n;
    tf.dispose([b.x1, b.x2, b.same, d]);
  }
  return right / total;
}

function sidePretext(name: KidneyPretextName): Pretext<KidneyConfig, KidneyData> {
  const variant = KIDNEY_PRETEXTS[name];
  return {
    name,
    dependsOn: (config, data) => ({ data: data.description, ct: config.ct, split: [config.labelledPool, config.validationSubjects, config.testSubjects, config.splitSeed], variant, sections: config.sections, unet: config.unet, embedding: config.embedding, margin: config.margin, pairs: config.pairs, pretrain: config.pretrain }),
    model: siamese,
    train: (config, data, model, seed, checkpointFile) =>
      train(
        {
          model,
          sample: (rng) => samplePairs(data.pretext[name], config.pairs, config.sections.cropPx, rng),
          loss: (b) => contrastiveLoss(pairDistances(model, b.x1 as tf.Tensor4D, b.x2 as tf.Tensor4D, true), b.same as tf.Tensor1D, config.margin),
        },
        { steps: config.pretrain.steps, learningRate: config.pretrain.learningRate, seed: 104729 + seed, checkpointFile, checkpointEvery: 100, label: `pretrain ${name} (seed ${seed})` },
      ),
    evaluate: async (config, data, model, seed) => ({ heldOutAccuracy: pairAccuracy(model, data.heldOut[name], config, seed), trainAccuracy: pairAccuracy(model, data.pretext[name], config, seed) }),
  };
}

/** Kidney (kidney + tumour, as KiTS19 scores it) on every case; tumour where the case has one. */
export function scoreKidney(pred: Uint8Array, stack: SliceStack): CellOutput["rows"] {
  const composite = (m: Uint8Array) => m.map((v) => (v > 0 ? 1 : 0));
  const rows = scoreStack(composite(pred), { ...stack, labels: composite(stack.labels!) }, { values: [1], names: ["kidney"] }).filter((r) => r.label !== "mean");
  if (stack.labels!.includes(2)) rows.push(...scoreStack(pred, stack, { values: [2], names: ["tumor"] }).filter((r) => r.label !== "mean"));
  return rows;
}

/** Mean kidney Dice over stacks: the validation score. */
function meanKidneyDice(model: tf.LayersModel, stacks: SliceStack[]): number {
  let sum = 0;
  for (const s of stacks) sum += scoreKidney(predictStack(model, s), s).find((r) => r.label === "kidney" && r.metric === "dice")!.value;
  return sum / stacks.length;
}

export async function runKidneyCell({ config, data, budget, seed, labelled, pretrained, trainOptions }: CellInput<KidneyConfig, KidneyData>): Promise<CellOutput> {
  // Same initialisation for every method at a (budget, seed); only the encoder differs.
  const model = buildUNet2D({ height: config.grid.size, width: config.grid.size, inChannels: 1, nClasses: SEG_CLASSES, depth: config.unet.depth, baseFilters: config.unet.baseFilters, seed: 1000 * seed + budget });
  // One siamese branch becomes the encoder; the decoder starts from its initialisation.
  if (pretrained) transferWeights(pretrained, model, "encoder");
  const stacks = labelled.flatMap((s) => s.items as SliceStack[]);
  const draw = foregroundOversampling(stacks, config.foregroundFraction);
  const result = await train(
    {
      model,
      validate: async () => meanKidneyDice(model, data.validation),
      sample: (rng) => sampleBatch(stacks, ["labels"], config.batch, rng, NO_AUGMENT, {}, draw),
      loss: (b) => segmentationLoss("ce+dice", model.apply(b.x, { training: true }) as tf.Tensor4D, b.labels as tf.Tensor3D),
    },
    trainOptions,
  );
  const rows: CellOutput["rows"] = [];
  for (const stack of data.test) rows.push(...scoreKidney(predictStack(model, stack), stack));
  return { model, train: result, rows };
}

export const KIDNEY: Paper<KidneyConfig, KidneyData> = {
  name: PAPER,
  title: "Kidney asymmetry (arXiv 2101.05456): same-side siamese pretext",
  full: KIDNEY_FULL,
  quick: KIDNEY_QUICK,
  methods: KIDNEY_METHODS,
  baseline: "scratch",
  rules: KIDNEY_RULES,
  checks: KIDNEY_CHECKS,
  dataLoaders: ["kits19"],
  loadData: loadKidneyData,
  pretexts: (Object.keys(KIDNEY_PRETEXTS) as KidneyPretextName[]).map(sidePretext),
  runCell: runKidneyCell,
  writeReport: writeKidneyReport,
  // The label-free pretext at the smallest budget, where a pretext should help most.
  notebook: "03-kidney-asymmetry",
  spotCheck: {
    methods: ["scratch", "side-free"],
    budget: 1,
    label: "kidney",
    paperSays: "better kidney Dice and faster convergence than scratch (qualitative; KiTS19).",
  },
};
