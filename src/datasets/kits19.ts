/**
 * KiTS19 (2019 Kidney and Kidney Tumor Segmentation Challenge, github.com/neheller/kits19):
 * contrast-enhanced abdominal CT, labels 0 background, 1 kidney (both sides), 2 tumor.
 *
 * Layouts read (root may also be the repository clone, whose cases are in data/):
 *   official  <root>/case_NNNNN/imaging.nii.gz and segmentation.nii.gz
 *   flat      <root>/case_NNNNN_imaging.nii.gz and case_NNNNN_segmentation.nii.gz (the
 *             project's shared label samples are named so)
 * `.nii` is accepted wherever `.nii.gz` is. writeKits19Case writes either layout, so a synthetic
 * dataset reads back through this same loader.
 *
 * THE KITS19 QUIRK, and what the loader does about it.
 * The files store NIfTI dims (slices, rows, columns): the (z, y, x) arrays of KiTS19's starter
 * code, so on disk the slice index varies fastest. The sform (sform_code 2, qform_code 0) is a
 * signed axis permutation with no translation; for slice thickness t and pixel size p,
 *   x = -p * column,  y = -p * row,  z = -t * slice        (nibabel's axis codes: I P L)
 * - The directions are right. The maintainers corrected the affine twice in the April 2019
 *   amended release (changelog: slice thickness, issue #8; "flipped along the horizontal axis",
 *   issue #9) and once more after issue #15, to the direction users had set by hand in
 *   SimpleITK, which is the matrix above. The anatomy of the three sample label maps agrees
 *   (test/datasets-kits19.test.ts checks it on case_00002): the two kidneys lie 14-19 cm apart
 *   along the column axis (left-right), both in the posterior half of the rows; in all six
 *   kidneys the lower pole is more lateral (and more anterior, rows growing posteriorly) than
 *   the upper pole at larger slice index, so slices run head to feet, as -z says. Which side is
 *   the patient's left is mirror-symmetric in kidney labels and cannot be read from them; the
 *   sign is DICOM's for axial images (columns run toward the patient's left), the one the
 *   maintainers' fix encodes.
 * - What it gets wrong is the origin: the translation is zero, so world millimetres are
 *   measured from the first stored voxel, not in scanner coordinates; positions in two cases are
 *   not comparable, only distances and directions are.
 * The loader reverses the axis order (reverseAxes) so volumes follow the library convention
 * (first index fastest = column, then row, then slice: shape [columns, rows, slices]) and swaps
 * the affine's columns to match, which keeps every voxel's world position: voxel (x, y, z) sits
 * at (-p x, -p y, -t z) mm. No origin is invented. A file whose first axis does not run
 * head-feet is refused: that is not KiTS19's convention (the first release, of March 2019,
 * described its affine as diagonal).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { reverseAxes } from "../geometry/reverse-axes";
import { VolumeFileError, describeThrown } from "../io/errors";
import { readNifti, writeNifti } from "../io/nifti";
import { axisCodes } from "../io/orientation";
import type { Volume } from "../io/volume";
import type { CtCase, CtDataset, CtLoadOptions, CtOrgan } from "./ct";
import { chooseCtFile, plainVolume } from "./ct-files";
import { checkSameGrid, firstExisting, toLabelMap } from "./labels";

/** KiTS19's stored label values in the library's organ vocabulary. */
export const KITS19_LABEL_NAMES: Readonly<Record<number, CtOrgan>> = { 1: "kidney", 2: "tumor" };
/** The identity over the values KiTS19 allows: toLabelMap refuses any other value. */
const KITS19_VALUES: readonly number[] = [0, 1, 2];

const ID_RE = /^case_\d{5}$/;
const FLAT_RE = /^(case_\d{5})_(imaging|segmentation)\.nii(?:\.gz)?$/;

export type Kits19Layout = "official" | "flat";
type Part = "imaging" | "segmentation";

/** How a case is stored, and the folder its layout is relative to (see kits19File). */
interface CaseLocation {
  layout: Kits19Layout;
  root: string;
}

/** A case's file: <root>/<id>/<part><ext> (official) or <root>/<id>_<part><ext> (flat). */
export function kits19File(root: string, id: string, part: Part, layout: Kits19Layout = "official", ext = ".nii.gz"): string {
  return layout === "official" ? path.join(root, id, `${part}${ext}`) : path.join(root, `${id}_${part}${ext}`);
}

export class Kits19Dataset implements CtDataset {
  readonly name: string = "kits19";
  private index?: Promise<{ dir: string; cases: Map<string, CaseLocation> }>;

  constructor(readonly root: string) {}

  async listCases(): Promise<string[]> {
    return [...(await this.cases()).cases.keys()].sort();
  }

  async loadCase(id: string, options: CtLoadOptions = {}): Promise<CtCase> {
    const { dir, cases } = await this.cases();
    const loc = cases.get(id);
    if (!loc)
      throw new VolumeFileError(
        path.join(dir, id),
        `no KiTS19 case '${id}': neither a folder ${id}/ nor files ${id}_imaging.nii.gz / ${id}_segmentation.nii.gz in ${dir}`,
      );
    const out: CtCase = { dataset: this.name, id, labelNames: { ...KITS19_LABEL_NAMES }, info: { layout: loc.layout, folder: loc.layout === "official" ? path.join(loc.root, id) : loc.root, tumorOf: "kidney" }, warnings: [] };
    const found = async (part: Part) => firstExisting([".nii.gz", ".nii"].map((x) => kits19File(loc.root, id, part, loc.layout, x)));
    const [imageFile, labelFile] = [await found("imaging"), await found("segmentation")];
    if (!imageFile && !labelFile)
      throw new VolumeFileError(kits19File(loc.root, id, "imaging", loc.layout), `missing: case ${id} has neither imaging nor segmentation`);
    const file = (part: Part, at: string | undefined) => ({ found: at, expected: kits19File(loc.root, id, part, loc.layout) });
    // KiTS19's 90 test cases (case_00210 onwards) were released without segmentations: by
    // default a missing file is a warning.
    const imagePath = chooseCtFile(out, "image", options.image, file("imaging", imageFile));
    const labelPath = chooseCtFile(out, "labels", options.labels, file("segmentation", labelFile));

    const image = imagePath ? await readNifti(imagePath) : undefined;
    const labels = labelPath ? await readNifti(labelPath) : undefined;
    if (image && labels) checkSameGrid(image, labels, imagePath!, labelPath!);
    if (image) {
      checkAxialSlices(image, 0, imagePath!);
      out.image = reverseAxes(plainVolume(image));
      Object.assign(out.info, { imageFile: imagePath!, storedShape: image.shape });
    }
    if (labels) {
      checkAxialSlices(labels, 0, labelPath!);
      out.labels = reverseAxes(toLabelMap(labels, labelPath!, KITS19_VALUES));
      Object.assign(out.info, { labelFile: labelPath!, storedShape: labels.shape });
    }
    return out;
  }

  private cases(): Promise<{ dir: string; cases: Map<string, CaseLocation> }> {
    this.index ??= (async () => {
      const top = await scanFolder(this.root, true);
      if (top.size > 0) return { dir: this.root, cases: top };
      // A clone of the repository: the cases are in data/.
      const data = path.join(this.root, "data");
      const inData = await scanFolder(data, false);
      return inData.size > 0 ? { dir: data, cases: inData } : { dir: this.root, cases: top };
    })();
    return this.index;
  }
}

/** Cases directly in `dir`, by id; a case stored in both layouts at once is an error. */
async function scanFolder(dir: string, mustExist: boolean): Promise<Map<string, CaseLocation>> {
  const found = new Map<string, CaseLocation>();
  let entries: import("node:fs").Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (mustExist) throw new VolumeFileError(dir, `cannot list folder: ${describeThrown(e)}`, { cause: e });
    return found;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    const isDir = e.isDirectory() || (e.isSymbolicLink() && (await fs.stat(full).then((s) => s.isDirectory(), () => false)));
    const id = isDir ? (ID_RE.test(e.name) ? e.name : undefined) : FLAT_RE.exec(e.name)?.[1];
    if (!id) continue;
    const layout: Kits19Layout = isDir ? "official" : "flat";
    const other = found.get(id);
    if (other && other.layout !== layout)
      throw new VolumeFileError(path.join(dir, id), `case ${id} is stored twice, as a folder and as flat ${id}_*.nii.gz files: keep one`);
    found.set(id, { layout, root: dir });
  }
  return found;
}

/**
 * KiTS19 stores axial CT: the slice axis (stored first, third in the library's order) must run
 * head-feet. Refuse anything else rather than guess how it was laid out.
 */
function checkAxialSlices(v: Volume, sliceAxis: 0 | 2, file: string): void {
  if (v.shape.length !== 3) throw new VolumeFileError(file, `expected a 3D volume, got shape [${v.shape}]`);
  const codes = axisCodes(v.affine);
  if (codes[sliceAxis] === "S" || codes[sliceAxis] === "I") return;
  const which = sliceAxis === 0 ? "first" : "third";
  throw new VolumeFileError(
    file,
    `the ${which} axis points ${codes[sliceAxis]} (orientation ${codes}), but KiTS19 stores axial slices along it (head-feet)` +
      (sliceAxis === 0 ? "; the first release (March 2019) described its affine as diagonal, corrected in April 2019: update the data" : ""),
  );
}

export interface WriteKits19Options {
  /** "official" (case_NNNNN/imaging.nii.gz; the default) or "flat" (case_NNNNN_imaging.nii.gz). */
  layout?: Kits19Layout;
}

/**
 * Write a case as KiTS19 stores it: NIfTI dims (slices, rows, columns), sform code 2, qform
 * code 0, gzip. `image` and `labels` are library volumes (first index fastest, slices along the
 * third axis, which must run head-feet); labels must be 0, 1 or 2. Returns the files written.
 */
export async function writeKits19Case(
  root: string,
  id: string,
  volumes: { image?: Volume; labels?: Volume<Uint8Array> },
  options: WriteKits19Options = {},
): Promise<{ imaging?: string; segmentation?: string }> {
  if (!ID_RE.test(id)) throw new Error(`writeKits19Case: case id '${id}' is not KiTS19's case_NNNNN (five digits)`);
  if (!volumes.image && !volumes.labels) throw new Error(`writeKits19Case: nothing to write for ${id} (no image, no labels)`);
  const layout = options.layout ?? "official";
  const files = { imaging: kits19File(root, id, "imaging", layout), segmentation: kits19File(root, id, "segmentation", layout) };
  const { image, labels } = volumes;
  if (image && labels) checkSameGrid(image, labels, files.imaging, files.segmentation);
  const toStore = (v: Volume, file: string): Volume => {
    checkAxialSlices(v, 2, file);
    return reverseAxes(plainVolume(v));
  };
  // Everything is checked before anything is written, so a refused case leaves no half on disk.
  const storedImage = image && toStore(image, files.imaging);
  const storedLabels = labels && toStore(toLabelMap(labels, files.segmentation, KITS19_VALUES), files.segmentation);
  const written: { imaging?: string; segmentation?: string } = {};
  await fs.mkdir(path.dirname(files.imaging), { recursive: true });
  for (const [part, v] of [["imaging", storedImage], ["segmentation", storedLabels]] as const) {
    if (!v) continue;
    await writeNifti(files[part], v, { sformCode: 2, qformCode: 0 });
    written[part] = files[part];
  }
  return written;
}
