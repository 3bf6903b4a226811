/**
 * Tissues of the abdominal phantom, the label each belongs to, and CT attenuation (Hounsfield
 * units) per tissue for unenhanced ("native") and portal-venous CT.
 *
 * A tissue is what the anatomy returns at a point; several tissues share a label (kidney cortex,
 * medulla, renal sinus fat and pelvis are all kidney_left or kidney_right), so intensity
 * structure exists inside a label as it does in real CT. Left and right kidney tissues are
 * separate only because their labels differ; they share attenuation.
 */
import { ABDOMEN_LABELS as L } from "./labels.js";

export const TISSUES = [
  ["air", L.background, "air"],
  ["subcutaneous_fat", L.subcutaneous_fat, "fat"],
  ["visceral_fat", L.visceral_fat, "visceral_fat"],
  ["muscle", L.muscle, "muscle"],
  ["vertebral_cortex", L.spine, "cortical_bone"],
  ["vertebral_marrow", L.spine, "trabecular_bone"],
  ["disc", L.spine, "disc"],
  ["vertebral_arch", L.spine, "arch_bone"],
  ["spinal_canal", L.spinal_cord, "csf"],
  ["rib", L.ribs, "rib"],
  ["aorta", L.aorta, "arterial_blood"],
  ["ivc", L.ivc, "venous_blood"],
  ["lung", L.lung, "lung"],
  ["liver", L.liver, "liver"],
  ["gallbladder", L.gallbladder, "bile"],
  ["spleen", L.spleen, "spleen"],
  ["stomach_wall", L.stomach, "gut_wall"],
  ["stomach_contents", L.stomach, "gut_fluid"],
  ["stomach_gas", L.stomach, "gas"],
  ["pancreas", L.pancreas, "pancreas"],
  ["pancreas_fat", L.pancreas, "visceral_fat"],
  ["bowel_wall", L.bowel, "gut_wall"],
  ["bowel_fluid", L.bowel, "gut_fluid"],
  ["bowel_gas", L.bowel, "gas"],
  ["stool", L.bowel, "stool"],
  ["kidney_left_cortex", L.kidney_left, "renal_cortex"],
  ["kidney_left_medulla", L.kidney_left, "renal_medulla"],
  ["kidney_left_sinus_fat", L.kidney_left, "visceral_fat"],
  ["kidney_left_pelvis", L.kidney_left, "urine"],
  ["kidney_right_cortex", L.kidney_right, "renal_cortex"],
  ["kidney_right_medulla", L.kidney_right, "renal_medulla"],
  ["kidney_right_sinus_fat", L.kidney_right, "visceral_fat"],
  ["kidney_right_pelvis", L.kidney_right, "urine"],
  ["tumor", L.tumor, "tumor"],
  ["tumor_necrosis", L.tumor, "necrosis"],
] as const;

export type TissueName = (typeof TISSUES)[number][0];
export type Material = (typeof TISSUES)[number][2];

/** Tissue name -> code (its index in TISSUES); code 0 is air outside the body. */
export const T = Object.fromEntries(TISSUES.map(([name], code) => [name, code])) as { [K in TissueName]: number };

/** Label of each tissue code. */
export const TISSUE_LABEL: Uint8Array = Uint8Array.from(TISSUES, ([, label]) => label);

/** The materials, each once, in a fixed order (subject sampling draws them in this order). */
export const MATERIALS: readonly Material[] = [...new Set(TISSUES.map(([, , m]) => m))];

/** [population mean, between-subject sd] in HU for one material. */
export type HuRange = readonly [mean: number, sd: number];

/**
 * Unenhanced CT. Centres are textbook adult values; between-subject spreads are wide enough that
 * the real TotalSegmentator sample (example_ct_sm, unenhanced, measured by realism.ts: liver 45,
 * spleen 33, aorta 42, IVC 37, psoas 36 HU) lies within about 1.5 sd of each centre:
 * - liver 50-65 HU in adults without steatosis, lower with fat (each 10 HU ~ several % fat);
 *   spleen normally about 5-10 HU below the liver;
 * - unenhanced blood 35-50 HU (rises with haematocrit); renal parenchyma 30-35 HU, cortex and
 *   medulla nearly equal before contrast; urine and bile 0-20 HU;
 * - fat -120 to -80 HU (visceral fat a little denser than subcutaneous: septa and vessels);
 *   muscle 40-55 HU, lower with fatty infiltration in older adults (the sample's back muscles
 *   measure 25 HU);
 * - L1 trabecular bone: Pickhardt et al. (Ann Intern Med 2013) use <= 110 HU as likely and
 *   > 160 HU as unlikely osteoporosis, so adults span roughly 100-250 HU; cortical shell several
 *   hundred HU; discs 70-100 HU; ribs and vertebral arches are thin cortex around marrow, which
 *   partial volume at 2-3 mm pixels brings to a few hundred HU;
 * - renal cell carcinoma 20-40 HU unenhanced; necrosis 10-20 HU; basal lung -900 to -800 HU.
 */
export const NATIVE_HU: Readonly<Record<Material, HuRange>> = {
  air: [-1000, 0],
  fat: [-100, 8],
  visceral_fat: [-92, 8],
  muscle: [40, 8],
  cortical_bone: [700, 80],
  trabecular_bone: [165, 45],
  disc: [85, 8],
  arch_bone: [330, 50],
  csf: [18, 4],
  rib: [300, 50],
  arterial_blood: [43, 5],
  venous_blood: [41, 5],
  lung: [-850, 30],
  liver: [54, 7],
  bile: [8, 5],
  spleen: [44, 6],
  gut_wall: [38, 6],
  gut_fluid: [14, 8],
  gas: [-990, 5],
  stool: [-60, 40],
  pancreas: [40, 7],
  renal_cortex: [32, 5],
  renal_medulla: [29, 5],
  urine: [6, 4],
  tumor: [32, 7],
  necrosis: [15, 5],
};

/**
 * Portal-venous phase (about 70 s after iodinated contrast): enhanced liver 100-120 HU, spleen a
 * little above it, aorta 150-200 HU, kidneys nephrographic (cortex and medulla both 150-200
 * HU), pancreas 90-120 HU, enhancing renal cell carcinoma usually well below the parenchyma.
 * Urine is still unopacified at 70 s; fat, bone, gas and bile do not enhance.
 */
export const VENOUS_HU: Readonly<Record<Material, HuRange>> = {
  ...NATIVE_HU,
  muscle: [58, 7],
  arterial_blood: [170, 25],
  venous_blood: [150, 25],
  liver: [108, 12],
  spleen: [118, 12],
  gut_wall: [85, 12],
  pancreas: [100, 12],
  renal_cortex: [175, 25],
  renal_medulla: [160, 25],
  tumor: [115, 25],
  necrosis: [25, 8],
};

export type ContrastPhase = "native" | "venous";

export const HU_BY_PHASE: Readonly<Record<ContrastPhase, Readonly<Record<Material, HuRange>>>> = {
  native: NATIVE_HU,
  venous: VENOUS_HU,
};

/** HU of every tissue code from a subject's per-material values. */
export function tissueHu(materialHu: Readonly<Record<Material, number>>): Float32Array {
  return Float32Array.from(TISSUES, ([, , m]) => materialHu[m]);
}
