/**
 * Reading one CT case's image and label map, shared by the NIfTI CT loaders that keep the
 * stored axis order (btcv.ts, msd.ts, totalsegmentator.ts): which files CtLoadOptions asks for,
 * the grid check, the label conversion, and the orientation summary. KiTS19 (kits19.ts) reads
 * its own way because it reorders the axes.
 */
import { VolumeFileError } from "../io/errors.js";
import { readNifti, type NiftiVolume } from "../io/nifti.js";
import { axisCodes } from "../io/orientation.js";
import type { Volume, VoxelArray } from "../io/volume.js";
import type { CtCase, CtLoadOptions } from "./ct.js";
import { checkSameGrid, toLabelMap } from "./labels.js";

/** The Volume fields only: a NIfTI header summary describes the stored file, not the case. */
export function plainVolume<T extends VoxelArray>(v: Volume<T>): Volume<T> {
  return { data: v.data, shape: v.shape, spacing: v.spacing, affine: v.affine, source: v.source };
}

/** One of a case's files: where it is (when present) and where it was looked for. */
export interface CtCaseFile {
  found?: string;
  /** The path reported when the file is absent. */
  expected: string;
  /** Said after "missing", e.g. "(dataset.json lists it)". */
  note?: string;
}

/** The label values 0..max, as the identity remap toLabelMap checks values against. */
export function labelRange(max: number): number[] {
  return Array.from({ length: max + 1 }, (_, n) => n);
}

/**
 * The file to read for one part of a case, as CtLoadOptions asks (ct.ts): undefined when the
 * part is skipped, or absent and optional (then a warning in `out`); absent and required is an
 * error naming the expected file.
 */
export function chooseCtFile(out: CtCase, part: "image" | "labels", option: boolean | undefined, file: CtCaseFile): string | undefined {
  if (option === false) return undefined;
  if (file.found) return file.found;
  const note = file.note ? ` ${file.note}` : "";
  if (option === true) throw new VolumeFileError(file.expected, `missing${note} (asked for the ${part} of ${out.id})`);
  out.warnings.push(`${file.expected} is missing${note}: case ${out.id} has no ${part}`);
  return undefined;
}

/**
 * Fill `out.image` / `out.labels` as `options` asks (ct.ts: true = required, false = skip, left
 * out = when present, absent -> a warning). `files.labels` undefined means the dataset has no
 * labels for this case (a test case): asking for them is an error, not asking is silent.
 * A case with neither file present is an error whatever the options. Labels must be whole
 * numbers 0..maxLabel and lie on the image's grid (errors name the label file). Volumes keep
 * the stored axis order; a third axis that is not head-feet is a warning (these datasets store
 * axial slices). `maxLabel` may be read from the label file itself (a label table in its header).
 */
export async function loadCtNifti(
  out: CtCase,
  files: { image: CtCaseFile; labels?: CtCaseFile },
  options: CtLoadOptions,
  maxLabel: number | ((labels: NiftiVolume, file: string) => number),
): Promise<void> {
  const { image: imageFile, labels: labelFile } = files;
  if (!imageFile.found && !labelFile?.found)
    throw new VolumeFileError(imageFile.expected, `missing${imageFile.note ? ` ${imageFile.note}` : ""}: case ${out.id} has neither image nor labels`);
  const wanted = (part: "image" | "labels", option: boolean | undefined, f: CtCaseFile | undefined): string | undefined => {
    if (f) return chooseCtFile(out, part, option, f);
    if (option === true) throw new VolumeFileError(imageFile.expected, `case ${out.id} has no labels (a test case): asked for them`);
    return undefined;
  };
  const imagePath = wanted("image", options.image, imageFile);
  const labelPath = wanted("labels", options.labels, labelFile);
  const image = imagePath ? await readNifti(imagePath) : undefined;
  const labels = labelPath ? await readNifti(labelPath) : undefined;
  if (image && labels) checkSameGrid(image, labels, imagePath!, labelPath!);
  for (const [v, file] of [[image, imagePath], [labels, labelPath]] as const)
    if (v && v.shape.length !== 3 && !(v.shape.length === 4 && v.shape[3] === 1))
      throw new VolumeFileError(file!, `expected a 3D CT volume, got shape [${v.shape}]`);
  if (!image && !labels) return; // both skipped by the options
  // Image and labels share the grid (checked above): one orientation for both.
  const [first, firstFile] = image ? [image, imagePath!] : [labels!, labelPath!];
  const codes = axisCodes(first.affine);
  out.info.orientation = codes;
  if (codes[2] !== "S" && codes[2] !== "I")
    out.warnings.push(`${firstFile}: the third axis points ${codes[2]} (orientation ${codes}), not head-feet: not the axial slices this dataset stores`);
  if (image) {
    out.image = plainVolume({ ...image, shape: image.shape.slice(0, 3), spacing: image.spacing.slice(0, 3) });
    out.info.imageFile = imagePath!;
  }
  if (labels) {
    const max = typeof maxLabel === "number" ? maxLabel : maxLabel(labels, labelPath!);
    out.labels = toLabelMap(labels, labelPath!, labelRange(max));
    out.info.labelFile = labelPath!;
  }
}
