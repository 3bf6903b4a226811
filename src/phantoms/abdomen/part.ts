/**
 * A part of the anatomy: a bounding box (subject frame, mm) and, per axial plane z, a point
 * test returning the tissue code at (x, y), or 0 where the part is not. `at(z)` does the work
 * that depends on z only once per plane and returns null when the part does not reach z. The
 * anatomy asks parts in priority order and the first non-zero answer wins, so overlaps resolve
 * the way organs press into each other (a kidney dents the liver, not the reverse).
 */
import type { Box } from "./shapes.js";

export type PlaneTest = (x: number, y: number) => number;

export interface Part {
  name: string;
  box: Box;
  at(z: number): PlaneTest | null;
}

/** Smallest box holding all `boxes`. */
export function unionBox(...boxes: Box[]): Box {
  return {
    x0: Math.min(...boxes.map((b) => b.x0)),
    x1: Math.max(...boxes.map((b) => b.x1)),
    y0: Math.min(...boxes.map((b) => b.y0)),
    y1: Math.max(...boxes.map((b) => b.y1)),
    z0: Math.min(...boxes.map((b) => b.z0)),
    z1: Math.max(...boxes.map((b) => b.z1)),
  };
}

