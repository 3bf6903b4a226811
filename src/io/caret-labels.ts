/**
 * Label names stored in a NIfTI header extension as a Caret/GIFTI-style XML label table, as
 * TotalSegmentator writes them:
 *   <CaretExtension> ... <LabelTable>
 *     <Label Key="1" Red="0.0" Green="1.0" Blue="0.0" Alpha="1"><![CDATA[spleen]]></Label> ...
 * Only the key -> name map is read (colours are ignored). A small pattern parser is enough for
 * this fixed, machine-written layout; it accepts CDATA or plain text with the five XML entities.
 */
import type { NiftiVolume } from "./nifti";

const LABEL = /<Label\b([^>]*)>([\s\S]*?)<\/Label>/g;
const KEY = /\bKey\s*=\s*"(-?\d+)"/;
const CDATA = /^<!\[CDATA\[([\s\S]*)\]\]>$/;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Key -> name of every <Label> in the XML text; throws when a label has no integer Key. */
export function parseCaretLabelTable(xml: string): Record<number, string> {
  const table = /<LabelTable\b[^>]*>([\s\S]*?)<\/LabelTable>/.exec(xml);
  if (!table) throw new Error("no <LabelTable> element in the XML");
  const names: Record<number, string> = {};
  for (const m of table[1].matchAll(LABEL)) {
    const key = KEY.exec(m[1]);
    if (!key) throw new Error(`<Label${m[1]}> has no integer Key attribute`);
    const body = m[2].trim();
    const cdata = CDATA.exec(body);
    names[Number(key[1])] = cdata ? cdata[1] : body.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ENTITIES[e]);
  }
  return names;
}

/**
 * The label names a NIfTI file carries in a header extension holding a <LabelTable>, or
 * undefined when it has none.
 */
export function niftiLabelNames(volume: NiftiVolume): Record<number, string> | undefined {
  for (const ext of volume.nifti.extensions) {
    const text = new TextDecoder("utf-8", { fatal: false }).decode(ext.data);
    if (text.includes("<LabelTable")) return parseCaretLabelTable(text);
  }
  return undefined;
}
