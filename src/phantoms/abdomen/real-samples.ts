/**
 * The real scans the abdominal phantom is compared with, measured by realism.ts, and the
 * comparison table (phantom mean over seeds vs real) as rows for a notebook or a README.
 *
 * - TotalSegmentator's test CT (example_ct_sm + example_seg, unenhanced, 3 mm): organ HU. Its
 *   kidneys are cut by the field of view (30 slices), so their volumes and offset are reported
 *   as truncated and not used as reference.
 * - KiTS19 label maps (case_00000..2): kidney volumes and the left/right craniocaudal offset.
 */
import { niftiLabelNames } from "../../io/caret-labels.js";
import { readNifti } from "../../io/nifti.js";
import { voxelToWorld, type Volume } from "../../io/volume.js";
import { generateAbdomenCt, type AbdomenCtOptions } from "./generate.js";
import { ABDOMEN_LABELS } from "./labels.js";
import { kidneyPairFromComponents, kidneyPairFromLabels, labelHuStats, type HuStats, type KidneyPair } from "./realism.js";

/** Organs compared by HU: the phantom's label name(s) and the real map's. */
export const HU_COMPARISON: readonly { organ: string; phantom: string[]; real: (name: string) => boolean }[] = [
  { organ: "liver", phantom: ["liver"], real: (n) => n === "liver" },
  { organ: "spleen", phantom: ["spleen"], real: (n) => n === "spleen" },
  { organ: "kidney_left", phantom: ["kidney_left"], real: (n) => n === "kidney_left" },
  { organ: "kidney_right", phantom: ["kidney_right"], real: (n) => n === "kidney_right" },
  { organ: "aorta", phantom: ["aorta"], real: (n) => n === "aorta" },
  { organ: "ivc", phantom: ["ivc"], real: (n) => n === "inferior_vena_cava" },
  { organ: "pancreas", phantom: ["pancreas"], real: (n) => n === "pancreas" },
  { organ: "stomach", phantom: ["stomach"], real: (n) => n === "stomach" },
  // The real map labels back muscles only; the phantom's muscle label also holds the wall.
  { organ: "muscle", phantom: ["muscle"], real: (n) => /^(autochthon|iliopsoas)_(left|right)$/.test(n) },
  { organ: "spine", phantom: ["spine"], real: (n) => n.startsWith("vertebrae_") },
];

function valuesOf(names: Readonly<Record<number, string>>, match: (name: string) => boolean): number[] {
  return Object.entries(names).filter(([, n]) => match(n)).map(([v]) => Number(v));
}

/** HU statistics per compared organ: over the whole label and over the label eroded by one voxel. */
export interface OrganHu {
  all: HuStats | null;
  eroded: HuStats | null;
}

export interface RealCtMeasures {
  source: string;
  hu: Record<string, OrganHu>;
  kidneys: KidneyPair;
}

function organHu(image: Volume, labels: Volume, values: number[]): OrganHu {
  return { all: labelHuStats(image, labels, values), eroded: labelHuStats(image, labels, values, { erode: true }) };
}

/** HU per compared organ and the kidneys of a CT whose label map names its labels (TotalSegmentator). */
export async function measureLabelledCt(ctPath: string, segPath: string): Promise<RealCtMeasures> {
  const [image, labels] = await Promise.all([readNifti(ctPath), readNifti(segPath)]);
  const names = niftiLabelNames(labels);
  if (!names) throw new Error(`${segPath}: no label table in the NIfTI header extensions`);
  const hu: Record<string, OrganHu> = {};
  for (const c of HU_COMPARISON) hu[c.organ] = organHu(image, labels, valuesOf(names, c.real));
  const kidneys = kidneyPairFromLabels(labels, valuesOf(names, (n) => n === "kidney_left"), valuesOf(names, (n) => n === "kidney_right"));
  return { source: ctPath, hu, kidneys };
}

// ---------------------------------------------------------------------------------------------
// KiTS19: label maps as datasets/kits19.ts loads them (RAS+ geometry from the file's affine;
// the caller loads them, so phantoms/ does not depend on datasets/). Kidney labels cannot tell
// left from right by themselves (a kidney and its mirror image look alike), so the sides rest on
// the affine's x, which follows the DICOM habit of storing columns from the patient's right to
// left. What the labels can check is the craniocaudal direction: upper poles lie nearer the
// midline than lower poles, so upperPoleMedialMm > 0 (upper third by world z) says the affine's
// "superior" is superior. It is for 5 of the 6 kidneys (7-17 mm); case_00002's left kidney
// gives -4 mm.

export interface Kits19Measures {
  source: string;
  kidneys: KidneyPair;
  /** Per side: how much nearer the midline (mm) the upper third lies than the lower third. */
  upperPoleMedialMm: { left: number; right: number };
}

/** Kidney measures of one KiTS19 label map (1 kidney, 2 tumour), loaded by Kits19Dataset. */
export function measureKits19Labels(labels: Volume, source: string): Kits19Measures {
  const kidneys = kidneyPairFromComponents(labels, [1, 2], [1]);
  return { source, kidneys, upperPoleMedialMm: upperPoleMedial(labels, kidneys) };
}

/** Mean distance from the midline of each kidney's lower third minus its upper third (world z). */
function upperPoleMedial(labels: Volume, k: KidneyPair): { left: number; right: number } {
  const midline = (k.left.centroid[0] + k.right.centroid[0]) / 2;
  const [nx, ny, nz] = labels.shape;
  const zr = { left: [Infinity, -Infinity], right: [Infinity, -Infinity] };
  const sums = { left: [0, 0, 0, 0], right: [0, 0, 0, 0] }; // upper sum, upper n, lower sum, lower n
  for (const pass of [0, 1])
    for (let kk = 0, o = 0; kk < nz; kk++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++, o++) {
          if (labels.data[o] !== 1) continue;
          const [x, , z] = voxelToWorld(labels.affine, [i, j, kk]);
          const side = x > midline ? "right" : "left";
          if (pass === 0) {
            zr[side][0] = Math.min(zr[side][0], z);
            zr[side][1] = Math.max(zr[side][1], z);
            continue;
          }
          const third = (zr[side][1] - zr[side][0]) / 3;
          const s = sums[side];
          if (z >= zr[side][1] - third) { s[0] += Math.abs(x - midline); s[1]++; }
          else if (z <= zr[side][0] + third) { s[2] += Math.abs(x - midline); s[3]++; }
        }
  const medial = (s: number[]) => s[2] / s[3] - s[0] / s[1];
  return { left: medial(sums.left), right: medial(sums.right) };
}
// ---------------------------------------------------------------------------------------------

export interface PhantomMeasures {
  seed: number;
  hu: Record<string, OrganHu>;
  kidneys: KidneyPair;
  hasTumor: boolean;
}

/** The same measurements on phantom subjects. */
export function measurePhantom(seeds: readonly number[], options: AbdomenCtOptions = {}): PhantomMeasures[] {
  return seeds.map((seed) => {
    const ct = generateAbdomenCt(seed, options);
    const hu: Record<string, OrganHu> = {};
    for (const c of HU_COMPARISON) hu[c.organ] = organHu(ct.image, ct.labels, c.phantom.map((n) => ABDOMEN_LABELS[n as keyof typeof ABDOMEN_LABELS]));
    const kidneys = kidneyPairFromLabels(ct.labels, [ABDOMEN_LABELS.kidney_left], [ABDOMEN_LABELS.kidney_right]);
    return { seed, hu, kidneys, hasTumor: ct.subject.tumor !== null };
  });
}

export interface RealismRow {
  quantity: "HU mean" | "HU sd" | "HU mean, eroded" | "HU sd, eroded" | "volume" | "craniocaudal offset (right lower > 0)";
  organ: string;
  unit: "HU" | "ml" | "mm";
  phantomMean: number;
  phantomSd: number;
  phantomN: number;
  /** Mean over the real samples used (null when none). */
  real: number | null;
  realN: number;
  /** Which real samples, with each value. */
  realNote: string;
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - avg(xs)) ** 2, 0) / (xs.length - 1)));
const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));
const caseName = (path: string) => path.split("/").pop()!.replace(/(_segmentation)?\.nii(\.gz)?$/, "");

/** Comparison rows: HU mean and sd per organ, kidney volumes, craniocaudal offset. */
export function realismRows(phantom: readonly PhantomMeasures[], ct: RealCtMeasures, kits: readonly Kits19Measures[]): RealismRow[] {
  const rows: RealismRow[] = [];
  const stat = (xs: number[]) => ({ phantomMean: avg(xs), phantomSd: sd(xs), phantomN: xs.length });
  for (const { organ } of HU_COMPARISON) {
    for (const part of ["all", "eroded"] as const) {
      const ph = phantom.map((p) => p.hu[organ]?.[part] ?? null).filter((h): h is HuStats => h !== null);
      const r = ct.hu[organ]?.[part] ?? null;
      const note = r ? `TotalSegmentator example_ct_sm (${r.voxels} voxels)` : "absent from the real map";
      const suffix = part === "eroded" ? ", eroded" : "";
      rows.push({ quantity: `HU mean${suffix}`, organ, unit: "HU", ...stat(ph.map((h) => h.mean)), real: r?.mean ?? null, realN: r ? 1 : 0, realNote: note });
      rows.push({ quantity: `HU sd${suffix}`, organ, unit: "HU", ...stat(ph.map((h) => h.sd)), real: r?.sd ?? null, realN: r ? 1 : 0, realNote: note });
    }
  }
  for (const side of ["left", "right"] as const) {
    const used = kits.filter((k) => !k.kidneys[side].truncated);
    const ts = ct.kidneys[side];
    const note = [
      ...kits.map((k) => `${caseName(k.source)} ${fmt(k.kidneys[side].ml)}${k.kidneys[side].truncated ? " (truncated, unused)" : ""}`),
      `TotalSegmentator ${fmt(ts.ml)}${ts.truncated ? " (truncated, unused)" : ""}`,
    ].join("; ");
    rows.push({ quantity: "volume", organ: `kidney_${side}`, unit: "ml", ...stat(phantom.map((p) => p.kidneys[side].ml)), real: used.length ? avg(used.map((k) => k.kidneys[side].ml)) : null, realN: used.length, realNote: `KiTS19 kidney label: ${note}` });
  }
  const used = kits.filter((k) => !k.kidneys.left.truncated && !k.kidneys.right.truncated);
  const offsets = phantom.map((p) => p.kidneys.offsetMm);
  rows.push({
    quantity: "craniocaudal offset (right lower > 0)",
    organ: "kidneys",
    unit: "mm",
    ...stat(offsets),
    real: used.length ? avg(used.map((k) => k.kidneys.offsetMm)) : null,
    realN: used.length,
    realNote: `KiTS19 centroids: ${kits.map((k) => `${caseName(k.source)} ${fmt(k.kidneys.offsetMm)}`).join("; ")}; phantom right lower in ${offsets.filter((o) => o > 0).length}/${offsets.length}`,
  });
  return rows;
}

/** The rows as a Markdown table. */
export function formatRealismTable(rows: readonly RealismRow[]): string {
  const lines = ["| quantity | organ | phantom mean ± sd (n) | real | real samples |", "|---|---|---|---|---|"];
  for (const r of rows) {
    lines.push(`| ${r.quantity} (${r.unit}) | ${r.organ} | ${fmt(r.phantomMean)} ± ${fmt(r.phantomSd)} (${r.phantomN}) | ${r.real === null ? "–" : fmt(r.real)} | ${r.realNote} |`);
  }
  return lines.join("\n");
}
