/** A short, human-readable description of a Volume (used by `anatomy-ssl info` and notebooks). */
import { axisCodes } from "./orientation.js";
import type { Volume } from "./volume.js";

export interface VolumeSummary {
  source: string;
  shape: number[];
  spacing: number[];
  dtype: string;
  orientation: string;
  min: number;
  max: number;
  mean: number;
  /**
   * For label maps (integer values with a small range, whatever the array type: M&Ms stores its
   * label files as float64): voxel count and volume (ml) per value.
   */
  labels?: { label: number; voxels: number; ml: number }[];
}

const MAX_LABELS = 64;

export function summarizeVolume(v: Volume): VolumeSummary {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let integral = true;
  for (let i = 0; i < v.data.length; i++) {
    const x = v.data[i];
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    if (integral && !Number.isInteger(x)) integral = false;
  }
  const summary: VolumeSummary = {
    source: v.source ?? "<in memory>",
    shape: v.shape,
    spacing: v.spacing,
    dtype: v.data.constructor.name.replace("Array", "").toLowerCase(),
    orientation: axisCodes(v.affine),
    min,
    max,
    mean: sum / v.data.length,
  };
  if (integral && max - min < MAX_LABELS) summary.labels = labelVolumes(v);
  return summary;
}

/** Voxel count and volume in ml (1 ml = 1000 mm^3) of every value present, from the spatial spacing. */
export function labelVolumes(v: Volume): { label: number; voxels: number; ml: number }[] {
  const counts = new Map<number, number>();
  for (let i = 0; i < v.data.length; i++) counts.set(v.data[i], (counts.get(v.data[i]) ?? 0) + 1);
  const voxelMl = (v.spacing[0] * v.spacing[1] * v.spacing[2]) / 1000;
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([label, voxels]) => ({ label, voxels, ml: voxels * voxelMl }));
}

export function formatSummary(s: VolumeSummary): string {
  const fmt = (xs: number[]) => xs.map((x) => +x.toFixed(3)).join(" x ");
  const lines = [
    `${s.source}`,
    `  shape ${s.shape.join(" x ")}, spacing ${fmt(s.spacing)} mm, ${s.dtype}, orientation ${s.orientation}`,
    `  values min ${+s.min.toFixed(4)}, max ${+s.max.toFixed(4)}, mean ${+s.mean.toFixed(4)}`,
  ];
  if (s.labels) for (const l of s.labels) lines.push(`  label ${l.label}: ${l.voxels} voxels, ${l.ml.toFixed(2)} ml`);
  return lines.join("\n");
}
