/**
 * Short-axis stacks on the training grid, ready for 2D networks: every SA image (ED, ES) of a
 * subject resampled in-plane to `size` x `size` pixels of `pixel` mm around the stack centre,
 * intensities normalised per stack, label maps resampled by nearest neighbour, and optionally the
 * anatomical-position targets (Bai 2019), the plane-intersection heatmaps and the slice locations
 * (Zhang 2024), all computed from the subject's affines.
 * Works the same for phantoms and real data: everything comes from the files' affines.
 */
import type { Phase, SubjectData, ViewName } from "../datasets/types.js";
import type { Volume } from "../io/volume.js";
import { anatomicalPositionTargets, ORIENT_2CH, ORIENT_4CH, orientedViewPlane } from "../pretext/anatomical-position.js";
import { intersectionChannels, planeIntersectionTargets } from "../pretext/plane-intersection.js";
import { sliceLocationTargets } from "../pretext/slice-location.js";
import { normalizePercentile } from "../transforms/intensity.js";
import { resampleInPlane, type InPlaneGrid } from "../transforms/resample.js";
import type { SliceStack } from "./slice-stack.js";

/** A cardiac SA stack (or one long-axis image) with the pretext targets a paper asked for. */
export interface Stack extends SliceStack {
  phase: Phase;
  /** Same layout as image, 0..9 (Bai 2019 tiles), when asked for. */
  positions?: Uint8Array;
  /**
   * Plane-intersection heatmaps (Zhang 2024), when asked for: slices * C * size * size, planar
   * per slice (slice k, channel c at (k * C + c) * size * size), so augmentation moves each map
   * like the image; channel names in `heatmapViews`.
   */
  heatmaps?: Float32Array;
  heatmapViews?: string[];
  /** Each slice's relative position from base (0) to apex (1), when asked for. */
  locations?: Float32Array;
}

export interface StackOptions extends InPlaneGrid {
  /** Load label maps (they must exist). */
  labels: boolean;
  /** Compute anatomical-position targets from these long-axis views (they must exist). */
  positionViews?: ViewName[];
  tileMm?: number;
  /** Heatmaps of where these long-axis views cut each SA slice (they must exist), ridge sigmaMm. */
  heatmapViews?: ViewName[];
  sigmaMm?: number;
  /** Compute slice locations. */
  locations?: boolean;
}

const ORIENT: Partial<Record<ViewName, [number, number, number]>> = { "2CH": ORIENT_2CH, "4CH": ORIENT_4CH };

export function prepareStacks(subject: SubjectData, o: StackOptions): Stack[] {
  const stacks: Stack[] = [];
  const sa = subject.views.SA;
  if (!sa) throw new Error(`${subject.dataset} subject ${subject.id}: no short-axis (SA) images`);
  for (const phase of ["ED", "ES"] as const) {
    const view = sa[phase];
    if (!view) throw new Error(`${subject.dataset} subject ${subject.id}: no SA ${phase} image`);
    const image = resampleInPlane(view.image, o, "linear");
    const [, , nz] = image.shape;
    const stack: Stack = { subject: subject.id, phase, size: o.size, slices: nz, image: normalizePercentile(image.data), grid: { shape: image.shape, spacing: image.spacing, affine: image.affine } };
    if (o.labels) {
      if (!view.labels) throw new Error(`${subject.dataset} subject ${subject.id}: SA ${phase} has no label map`);
      stack.labels = Uint8Array.from(resampleInPlane(view.labels, o, "nearest").data);
    }
    if (o.positionViews) {
      const planes = o.positionViews.map((name) => {
        // Long-axis planes do not move between phases of a cine; use this phase's file if present.
        const la = subject.views[name]?.[phase] ?? subject.views[name]?.ED;
        if (!la) throw new Error(`${subject.dataset} subject ${subject.id}: anatomical positions need the ${name} view, which is missing`);
        const towards = ORIENT[name];
        if (!towards) throw new Error(`anatomical positions are defined for the 2CH and 4CH views, not ${name}`);
        return orientedViewPlane(la.image, towards);
      });
      stack.positions = anatomicalPositionTargets(image, planes, { tileMm: o.tileMm ?? 30 });
    }
    if (o.heatmapViews) {
      const views: Record<string, Volume> = {};
      for (const name of o.heatmapViews) {
        const la = subject.views[name]?.[phase] ?? subject.views[name]?.ED;
        if (!la) throw new Error(`${subject.dataset} subject ${subject.id}: plane-intersection heatmaps need the ${name} view, which is missing`);
        views[name] = la.image;
      }
      const interleaved = planeIntersectionTargets(image, intersectionChannels("SA", views, o.heatmapViews), o.sigmaMm === undefined ? undefined : { sigmaMm: o.sigmaMm });
      stack.heatmaps = planarChannels(interleaved, o.size * o.size, nz, o.heatmapViews.length);
      stack.heatmapViews = [...o.heatmapViews];
    }
    if (o.locations) stack.locations = Float32Array.from(sliceLocationTargets(image));
    stacks.push(stack);
  }
  return stacks;
}

/** Channels-last maps (slice, pixel, channel) rearranged to (slice, channel, pixel). */
function planarChannels(interleaved: Float32Array, area: number, slices: number, channels: number): Float32Array {
  const out = new Float32Array(interleaved.length);
  for (let k = 0; k < slices; k++)
    for (let o = 0; o < area; o++)
      for (let c = 0; c < channels; c++) out[(k * channels + c) * area + o] = interleaved[(k * area + o) * channels + c];
  return out;
}

/**
 * A long-axis view (e.g. 4CH) at ED and ES on the same training grid as the SA stacks, each image
 * a one-slice Stack, so the same batches, prediction and scoring serve long-axis segmentation.
 */
export function prepareLongAxis(subject: SubjectData, view: Exclude<ViewName, "SA">, o: InPlaneGrid & { labels: boolean }): Stack[] {
  const phases = subject.views[view];
  if (!phases) throw new Error(`${subject.dataset} subject ${subject.id}: no ${view} images`);
  return (["ED", "ES"] as const).map((phase) => {
    const la = phases[phase];
    if (!la) throw new Error(`${subject.dataset} subject ${subject.id}: no ${view} ${phase} image`);
    if (la.image.shape[2] !== 1) throw new Error(`${la.image.source ?? `${subject.id} ${view} ${phase}`}: a long-axis view should be one slice, found ${la.image.shape[2]}`);
    const image = resampleInPlane(la.image, o, "linear");
    const stack: Stack = { subject: subject.id, phase, size: o.size, slices: 1, image: normalizePercentile(image.data), grid: { shape: image.shape, spacing: image.spacing, affine: image.affine } };
    if (o.labels) {
      if (!la.labels) throw new Error(`${subject.dataset} subject ${subject.id}: ${view} ${phase} has no label map`);
      stack.labels = Uint8Array.from(resampleInPlane(la.labels, o, "nearest").data);
    }
    return stack;
  });
}
