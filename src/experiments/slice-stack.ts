/**
 * What 2D networks train and predict on, for any dataset: a stack of images on one square
 * training grid (slice-major, x fastest within a slice), optionally with a label map on the same
 * grid, and the stack's geometry so predictions are scored in 3D with the real spacing.
 * Cardiac stacks (cardiac-stacks.ts) add pretext targets; CT stacks are axial slices.
 */
import type { Volume } from "../io/volume.js";

export interface SliceStack {
  subject: string;
  /** Which image of the subject (cardiac: "ED" or "ES"; CT: the series). */
  phase: string;
  size: number;
  slices: number;
  /** slices * size * size values, normalised per stack. */
  image: Float32Array;
  /** Same layout, class per pixel, when the subject is labelled. */
  labels?: Uint8Array;
  /** Geometry of the resampled stack (for 3D surface metrics in mm). */
  grid: Pick<Volume, "shape" | "spacing" | "affine">;
}
