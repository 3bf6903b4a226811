/**
 * Minimal DICOM Part 10 writer for tests (explicit VR little endian, one grayscale frame), so
 * geometry and error handling can be tested on slices whose every tag we choose, including
 * missing or contradictory ones.
 */

export interface SynthSlice {
  rows: number;
  columns: number;
  /** ImagePositionPatient (LPS mm). */
  position: number[];
  /** ImageOrientationPatient: row cosine then column cosine. */
  orientation: number[];
  /** PixelSpacing: [between rows, between columns]. */
  pixelSpacing: number[];
  /** rows * columns stored values, row by row. */
  pixels: ArrayLike<number>;
  signed?: boolean;
  instanceNumber?: number;
  triggerTime?: number;
  sliceThickness?: number;
  rescaleSlope?: number;
  rescaleIntercept?: number;
  seriesUID?: string;
  /** Tags (xGGGGEEEE) to leave out, to test missing-tag errors. */
  omit?: string[];
}

type Element = { tag: string; vr: string; value: Uint8Array };

const LONG_LENGTH_VRS = new Set(["OB", "OW", "OF", "SQ", "UT", "UN"]);

function text(s: string, vr: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = vr === "UI" ? 0 : 0x20; // UIDs pad with NUL, other strings with space
  return out;
}

const ds = (xs: number[]) => xs.map((x) => String(Number(x.toPrecision(10)))).join("\\");
function us(x: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, x, true);
  return b;
}

function encode(elements: Element[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of elements) {
    const group = parseInt(e.tag.slice(1, 5), 16);
    const elem = parseInt(e.tag.slice(5, 9), 16);
    const long = LONG_LENGTH_VRS.has(e.vr);
    const head = new Uint8Array(long ? 12 : 8);
    const v = new DataView(head.buffer);
    v.setUint16(0, group, true);
    v.setUint16(2, elem, true);
    head[4] = e.vr.charCodeAt(0);
    head[5] = e.vr.charCodeAt(1);
    if (long) v.setUint32(8, e.value.length, true);
    else v.setUint16(6, e.value.length, true);
    parts.push(head, e.value);
  }
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** The bytes of a DICOM file holding one slice. */
export function synthDicom(s: SynthSlice): Uint8Array {
  const uid = `1.2.826.0.1.3680043.2.1125.${s.instanceNumber ?? 0}.${Math.round((s.triggerTime ?? 0) * 10)}`;
  const meta = encode([
    { tag: "x00020001", vr: "OB", value: Uint8Array.from([0, 1]) },
    { tag: "x00020002", vr: "UI", value: text("1.2.840.10008.5.1.4.1.1.4", "UI") },
    { tag: "x00020003", vr: "UI", value: text(uid, "UI") },
    { tag: "x00020010", vr: "UI", value: text("1.2.840.10008.1.2.1", "UI") },
  ]);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, meta.length, true);

  const pixels = new Uint8Array(s.rows * s.columns * 2);
  const pv = new DataView(pixels.buffer);
  for (let n = 0; n < s.rows * s.columns; n++) {
    if (s.signed) pv.setInt16(2 * n, s.pixels[n], true);
    else pv.setUint16(2 * n, s.pixels[n], true);
  }
  const all: (Element | undefined)[] = [
    { tag: "x00080016", vr: "UI", value: text("1.2.840.10008.5.1.4.1.1.4", "UI") },
    { tag: "x00080018", vr: "UI", value: text(uid, "UI") },
    { tag: "x00080060", vr: "CS", value: text("MR", "CS") },
    s.sliceThickness === undefined ? undefined : { tag: "x00180050", vr: "DS", value: text(ds([s.sliceThickness]), "DS") },
    s.triggerTime === undefined ? undefined : { tag: "x00181060", vr: "DS", value: text(ds([s.triggerTime]), "DS") },
    { tag: "x0020000e", vr: "UI", value: text(s.seriesUID ?? "1.2.826.0.1.3680043.2.1125.9", "UI") },
    s.instanceNumber === undefined ? undefined : { tag: "x00200013", vr: "IS", value: text(String(s.instanceNumber), "IS") },
    { tag: "x00200032", vr: "DS", value: text(ds(s.position), "DS") },
    { tag: "x00200037", vr: "DS", value: text(ds(s.orientation), "DS") },
    { tag: "x00280002", vr: "US", value: us(1) },
    { tag: "x00280004", vr: "CS", value: text("MONOCHROME2", "CS") },
    { tag: "x00280010", vr: "US", value: us(s.rows) },
    { tag: "x00280011", vr: "US", value: us(s.columns) },
    { tag: "x00280030", vr: "DS", value: text(ds(s.pixelSpacing), "DS") },
    { tag: "x00280100", vr: "US", value: us(16) },
    { tag: "x00280101", vr: "US", value: us(16) },
    { tag: "x00280102", vr: "US", value: us(15) },
    { tag: "x00280103", vr: "US", value: us(s.signed ? 1 : 0) },
    s.rescaleIntercept === undefined ? undefined : { tag: "x00281052", vr: "DS", value: text(ds([s.rescaleIntercept]), "DS") },
    s.rescaleSlope === undefined ? undefined : { tag: "x00281053", vr: "DS", value: text(ds([s.rescaleSlope]), "DS") },
    { tag: "x7fe00010", vr: "OW", value: pixels },
  ];
  const body = encode(all.filter((e): e is Element => e !== undefined && !(s.omit ?? []).includes(e.tag)));

  const header = encode([{ tag: "x00020000", vr: "UL", value: groupLength }]);
  const out = new Uint8Array(128 + 4 + header.length + meta.length + body.length);
  out.set(new TextEncoder().encode("DICM"), 128);
  out.set(header, 132);
  out.set(meta, 132 + header.length);
  out.set(body, 132 + header.length + meta.length);
  return out;
}
