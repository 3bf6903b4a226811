/**
 * The built-in multi-organ CT dataset: synthetic subjects (phantoms/abdomen) written once to a
 * cache folder in the BTCV layout (img/imgNNNN.nii.gz + label/labelNNNN.nii.gz, labels in BTCV's
 * numbering) and read back through the BTCV loader real data uses. Case NNNN is phantom seed
 * NNNN, scanned without tumour (BTCV labels none). The phantom's organs that BTCV labels keep
 * their class (liver, spleen, kidneys, gallbladder, stomach, aorta, IVC, pancreas); the others
 * (bowel, bone, muscle, fat, lung) are background, as in BTCV.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BTCV_LABEL_NAMES } from "../datasets/btcv.js";
import { writeNifti } from "../io/nifti.js";
import type { Volume } from "../io/volume.js";
import { ABDOMEN_CT_GENERATOR, ABDOMEN_LABEL_NAMES, generateAbdomenCt, type AbdomenCtOptions } from "../phantoms/abdomen/index.js";
import { ensureGeneratedFolder } from "./generated-data.js";
import { abdomenFingerprint } from "./synthetic-abdomen.js";
import { cacheRoot } from "./synthetic-cardiac.js";

export const btcvId = (seed: number) => String(seed).padStart(4, "0");

/** The phantom's names where they differ from the vocabulary's (datasets/ct.ts). */
const VOCABULARY: Record<string, string> = { ivc: "inferior_vena_cava" };

/** Phantom label value -> BTCV label value (0 for structures BTCV does not label). */
export const PHANTOM_TO_BTCV: Readonly<Record<number, number>> = (() => {
  const btcv = new Map(Object.entries(BTCV_LABEL_NAMES).map(([value, name]) => [name as string, Number(value)]));
  return Object.fromEntries(Object.entries(ABDOMEN_LABEL_NAMES).map(([value, name]) => [Number(value), btcv.get(VOCABULARY[name] ?? name) ?? 0]));
})();

/** The phantom's label map in BTCV's numbering. */
export function toBtcvLabels(labels: Volume<Uint8Array>): Volume<Uint8Array> {
  return { ...labels, data: labels.data.map((v) => PHANTOM_TO_BTCV[v] ?? 0) };
}

export function syntheticBtcvDir(o: Required<Pick<AbdomenCtOptions, "matrix" | "pixelMm" | "sliceMm" | "slices">>): string {
  return path.join(cacheRoot(), `synthetic-abdomen-btcv-v${ABDOMEN_CT_GENERATOR.version}-m${o.matrix}-p${o.pixelMm}-s${o.sliceMm}x${o.slices}`);
}

/** Make sure cases 0001..count exist; returns the folder (the one BtcvDataset opens). */
export async function ensureSyntheticBtcv(count: number, options: Required<Pick<AbdomenCtOptions, "matrix" | "pixelMm" | "sliceMm" | "slices">>): Promise<string> {
  const dir = syntheticBtcvDir(options);
  const file = (part: "img" | "label", seed: number) => path.join(dir, part, `${part}${btcvId(seed)}.nii.gz`);
  return ensureGeneratedFolder({
    dir,
    generator: ABDOMEN_CT_GENERATOR,
    fingerprint: abdomenFingerprint(),
    options,
    count,
    // The label map is written last: its presence means the case is complete.
    complete: (seed) => fs.existsSync(file("label", seed)),
    write: async (seed) => {
      const ct = generateAbdomenCt(seed, { ...options, tumorProbability: 0 });
      for (const part of ["img", "label"]) fs.mkdirSync(path.join(dir, part), { recursive: true });
      await writeNifti(file("img", seed), ct.image, { sformCode: 1, qformCode: 1, datatype: "int16" });
      await writeNifti(file("label", seed), toBtcvLabels(ct.labels), { sformCode: 1, qformCode: 1 });
    },
  });
}
