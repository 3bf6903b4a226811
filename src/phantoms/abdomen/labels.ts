/**
 * The abdominal phantom's label numbering: fixed, so label maps written today stay readable by
 * later papers that reuse the multi-organ phantom. Names are lower case and follow
 * TotalSegmentator's where one exists (kidney_left, subcutaneous_fat, spinal_cord ...); "ivc",
 * "bowel" (duodenum + small bowel + colon), "ribs" and "spine" (vertebrae and discs) group
 * structures TotalSegmentator splits further. Append new labels; never renumber.
 */
export const ABDOMEN_LABELS = {
  background: 0,
  liver: 1,
  spleen: 2,
  kidney_left: 3,
  kidney_right: 4,
  tumor: 5,
  stomach: 6,
  aorta: 7,
  ivc: 8,
  pancreas: 9,
  bowel: 10,
  gallbladder: 11,
  spine: 12,
  ribs: 13,
  spinal_cord: 14,
  muscle: 15,
  subcutaneous_fat: 16,
  visceral_fat: 17,
  lung: 18,
} as const;

export type AbdomenLabelName = keyof typeof ABDOMEN_LABELS;

/** Label value -> name, the form label maps carry (as a NIfTI label table would). */
export const ABDOMEN_LABEL_NAMES: Readonly<Record<number, AbdomenLabelName>> = Object.freeze(
  Object.fromEntries(Object.entries(ABDOMEN_LABELS).map(([name, value]) => [value, name as AbdomenLabelName])),
);
