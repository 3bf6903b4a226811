/**
 * One synthetic abdominal CT: subject, CT volume and label map.
 */
import type { Volume } from "../../io/volume.js";
import { acquireAbdomenCt, type AcquisitionOptions } from "./acquire.js";
import { ABDOMEN_LABEL_NAMES } from "./labels.js";
import { sampleAbdomenSubject, type AbdomenSubject, type SubjectOptions } from "./subject.js";

/**
 * Bump on every change to src/phantoms/abdomen that changes what it generates, so anything
 * cached from it (data folders, pretrained weights) is made again.
 */
export const ABDOMEN_CT_GENERATOR = { name: "phantoms/abdomen", version: 1 } as const;

export type AbdomenCtOptions = SubjectOptions & AcquisitionOptions;

export interface AbdomenCt {
  subject: AbdomenSubject;
  /** CT in Hounsfield units. */
  image: Volume<Int16Array>;
  labels: Volume<Uint8Array>;
  labelNames: Readonly<Record<number, string>>;
}

/** One synthetic abdominal CT; the same seed and options give the same volumes. */
export function generateAbdomenCt(seed: number, options: AbdomenCtOptions = {}): AbdomenCt {
  const subject = sampleAbdomenSubject(seed, options);
  return { subject, ...acquireAbdomenCt(subject, options), labelNames: ABDOMEN_LABEL_NAMES };
}
