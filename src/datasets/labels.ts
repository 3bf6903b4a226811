/**
 * Shared by the NIfTI loaders: read an image and its label map, prove they describe the same
 * voxels, and bring the labels to the library convention (types.ts) as a Uint8Array.
 */
import { promises as fs } from "node:fs";
import { VolumeFileError } from "../io/errors";
import { readNifti } from "../io/nifti";
import type { Volume } from "../io/volume";
import { MAX_LABEL, type LabelledImage } from "./types";

/**
 * Largest difference (mm) allowed between an image's and its label map's affine entries. Both
 * come from float32 header fields; tools that rewrite a header can move the last bits, never
 * whole voxels.
 */
export const AFFINE_TOLERANCE_MM = 1e-3;

/**
 * Throw a VolumeFileError naming the label file when its grid differs from the image's: a label
 * map on another grid would silently label the wrong voxels.
 */
export function checkSameGrid(image: Volume, labels: Volume, imageFile: string, labelFile: string): void {
  const spatial = (s: number[]) => s.slice(0, 3).join("x");
  if (spatial(image.shape) !== spatial(labels.shape) || (labels.shape.length > 3 && labels.shape[3] !== 1))
    throw new VolumeFileError(labelFile, `label map shape [${labels.shape}] does not match image ${imageFile} shape [${image.shape}]`);
  let worst = 0;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(image.affine[r][c] - labels.affine[r][c]));
  if (!(worst <= AFFINE_TOLERANCE_MM))
    throw new VolumeFileError(
      labelFile,
      `label map affine differs from image ${imageFile} by up to ${worst.toPrecision(3)} mm (tolerance ${AFFINE_TOLERANCE_MM} mm)`,
    );
}

/**
 * Label values as Uint8Array, optionally remapped (`remap[stored] = library label`). Throws
 * naming `file` for a non-integer or out-of-range value: a map with label 4 is another dataset's
 * convention and must not pass as ours.
 */
export function toLabelMap(v: Volume, file: string, remap?: readonly number[]): Volume<Uint8Array> {
  const src = v.data;
  const out = new Uint8Array(src.length);
  const maxStored = remap ? remap.length - 1 : MAX_LABEL;
  for (let n = 0; n < src.length; n++) {
    const x = src[n];
    if (!Number.isInteger(x) || x < 0 || x > maxStored)
      throw new VolumeFileError(file, `label value ${x} at voxel ${n} is not one of 0..${maxStored}`);
    out[n] = remap ? remap[x] : x;
  }
  return { data: out, shape: v.shape.slice(0, 3), spacing: v.spacing.slice(0, 3), affine: v.affine.map((r) => r.slice()), source: file };
}

/** Read an image and (when given) its label map, checked and converted. */
export async function readLabelledNifti(imageFile: string, labelFile: string | undefined, remap?: readonly number[]): Promise<LabelledImage> {
  const image = await readNifti(imageFile);
  if (!labelFile) return { image };
  const raw = await readNifti(labelFile);
  checkSameGrid(image, raw, imageFile, labelFile);
  return { image, labels: toLabelMap(raw, labelFile, remap) };
}

/** The first existing path among `candidates`, else undefined. */
export async function firstExisting(candidates: readonly string[]): Promise<string | undefined> {
  for (const c of candidates) {
    try {
      if ((await fs.stat(c)).isFile()) return c;
    } catch {
      // not there: try the next spelling
    }
  }
  return undefined;
}
