/**
 * NIfTI header extensions and the XML label table TotalSegmentator stores in one: our reader
 * against nibabel (files we build, and the real TotalSegmentator label map), the label table
 * parser against Python's xml.etree, and malformed extension sizes.
 */
import { after, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { VolumeFileError, decodeNifti, encodeNifti, niftiLabelNames, parseCaretLabelTable, readNifti, type Volume } from "../src/io";
import { nibabelSkip, runPythonJson, sharedDataPath, sharedDataSkip } from "./helpers/shared-data";

const tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-niftiext-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const small: Volume = { data: Int16Array.from({ length: 24 }, (_, n) => n - 5), shape: [4, 3, 2], spacing: [1, 1, 2], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]] };

/** A .nii with the given extensions (each padded to a multiple of 16 as nifti1.h asks), then `padding` zero bytes. */
function withExtensions(exts: { code: number; data: Uint8Array; esize?: number }[], padding = 0): Uint8Array {
  const plain = encodeNifti(small, "x.nii");
  const blocks = exts.map((e) => {
    const b = new Uint8Array(Math.ceil((e.data.length + 8) / 16) * 16);
    const v = new DataView(b.buffer);
    // `esize` may lie about the block's length, to test malformed files.
    v.setInt32(0, e.esize ?? b.length, true);
    v.setInt32(4, e.code, true);
    b.set(e.data, 8);
    return b;
  });
  const extLength = blocks.reduce((a, b) => a + b.length, 0) + padding;
  const out = new Uint8Array(plain.length + extLength);
  out.set(plain.subarray(0, 348));
  out.set([1, 0, 0, 0], 348);
  let pos = 352;
  for (const b of blocks) {
    out.set(b, pos);
    pos += b.length;
  }
  out.set(plain.subarray(352), 352 + extLength);
  new DataView(out.buffer).setFloat32(108, 352 + extLength, true);
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

describe("NIfTI header extensions", () => {
  test("no extension flag: an empty list", async () => {
    const v = await decodeNifti(encodeNifti(small, "x.nii"), "x.nii");
    assert.deepEqual(v.nifti.extensions, []);
  });

  test("two extensions and trailing zero padding are read in order, voxels intact", async () => {
    const bytes = withExtensions([{ code: 6, data: text("a comment") }, { code: 0, data: text("<LabelTable/>".repeat(3)) }], 32);
    const v = await decodeNifti(bytes, "ext.nii");
    assert.deepEqual(v.nifti.extensions.map((e) => [e.code, new TextDecoder().decode(e.data)]), [[6, "a comment"], [0, "<LabelTable/>".repeat(3)]]);
    assert.deepEqual(Array.from(v.data), Array.from(small.data));
  });

  test("an extension size that runs past vox_offset, or below 8, is a VolumeFileError naming the file", async () => {
    for (const esize of [4096, 4]) {
      const bytes = withExtensions([{ code: 6, data: text("0123456789"), esize }]);
      await assert.rejects(decodeNifti(bytes, "bad-ext.nii"), (e: unknown) => e instanceof VolumeFileError && e.file === "bad-ext.nii" && /extension/.test(e.message));
    }
  });

  test("nibabel sees the same extensions in a file we built", { skip: nibabelSkip() }, async () => {
    const file = path.join(tmp, "ext.nii");
    writeFileSync(file, withExtensions([{ code: 6, data: text("first") }, { code: 4, data: text("second one, longer than sixteen") }]));
    const ours = (await readNifti(file)).nifti.extensions.map((e) => ({ code: e.code, text: new TextDecoder().decode(e.data) }));
    const theirs = runPythonJson<{ code: number; text: string }[]>(
      "import json, sys, nibabel as nib\n" +
        "h = nib.load(sys.argv[1]).header\n" +
        "print(json.dumps([{'code': int(e.get_code()), 'text': e.get_content().decode()} for e in h.extensions]))",
      [file],
    );
    assert.deepEqual(ours, theirs);
  });
});

describe("Caret XML label table", () => {
  test("CDATA and entity-escaped names, any attribute order", () => {
    const xml = `<CaretExtension><LabelTable>
      <Label Key="0" Red="0"><![CDATA[background]]></Label>
      <Label Red="1" Key="7">fat &amp; muscle</Label>
      <Label Key="12"><![CDATA[a<b]]></Label>
    </LabelTable></CaretExtension>`;
    assert.deepEqual(parseCaretLabelTable(xml), { 0: "background", 7: "fat & muscle", 12: "a<b" });
  });

  test("no table, or a label without a Key, is an error", () => {
    assert.throws(() => parseCaretLabelTable("<CaretExtension/>"), /no <LabelTable>/);
    assert.throws(() => parseCaretLabelTable("<LabelTable><Label>x</Label></LabelTable>"), /no integer Key/);
  });

  const seg = ["totalsegmentator", "example_seg.nii.gz"];
  test("TotalSegmentator's label map: extension bytes as nibabel reads them, names as xml.etree parses them", { skip: sharedDataSkip(seg) || nibabelSkip() }, async () => {
    const file = sharedDataPath(...seg);
    const v = await readNifti(file);
    const names = niftiLabelNames(v);
    assert.ok(names, "label table found");
    assert.equal(names[1], "spleen");
    assert.equal(names[2], "kidney_right");
    assert.equal(names[3], "kidney_left");
    assert.equal(names[5], "liver");
    assert.equal(names[52], "aorta");
    const ref = runPythonJson<{ exts: { code: number; sha: string }[]; names: Record<string, string> }>(
      "import json, sys, hashlib, nibabel as nib, xml.etree.ElementTree as ET\n" +
        "h = nib.load(sys.argv[1]).header\n" +
        "exts = [{'code': int(e.get_code()), 'sha': hashlib.sha256(e.get_content()).hexdigest()} for e in h.extensions]\n" +
        "root = ET.fromstring(h.extensions[0].get_content().decode().strip())\n" +
        "names = {l.get('Key'): l.text for l in root.iter('Label')}\n" +
        "print(json.dumps({'exts': exts, 'names': names}))",
      [file],
    );
    assert.deepEqual(v.nifti.extensions.map((e) => ({ code: e.code, sha: createHash("sha256").update(e.data).digest("hex") })), ref.exts);
    assert.deepEqual(Object.fromEntries(Object.entries(names).map(([k, n]) => [k, n])), ref.names);
  });
});
