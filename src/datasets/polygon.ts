/**
 * Polygons drawn on an image (contour files) -> pixel masks.
 *
 * Rule: a pixel belongs to the mask when its centre lies inside the polygon (even-odd rule).
 * A centre exactly on the boundary (common: contour points often sit on the half-pixel grid) is
 * decided half-open, like a scanline fill: inside when `x_enter <= x < x_leave` along a row, and
 * an edge crosses row y when `(y1 <= y) !== (y2 <= y)`. So two polygons sharing an edge never
 * both claim a pixel, and the mask area is unbiased.
 * With this rule the mask area differs from the polygon area by at most about half the
 * perimeter (in pixels): every boundary pixel is half in, half out on average.
 *
 * Coordinates: points are (x, y) in the contour's own units; `centreOffset` says where pixel
 * (i, j)'s centre is: (i + centreOffset, j + centreOffset). 0 for "integers at pixel centres",
 * 0.5 for "integers at pixel corners" (Sunnybrook, see sunnybrook.ts).
 */

export type Point = readonly [number, number];

/** Area by the shoelace formula (positive whatever the winding). */
export function polygonArea(points: readonly Point[]): number {
  let twice = 0;
  for (let n = 0; n < points.length; n++) {
    const [x1, y1] = points[n];
    const [x2, y2] = points[(n + 1) % points.length];
    twice += x1 * y2 - x2 * y1;
  }
  return Math.abs(twice) / 2;
}

/** Length of the closed polygon's boundary. */
export function polygonPerimeter(points: readonly Point[]): number {
  let sum = 0;
  for (let n = 0; n < points.length; n++) {
    const [x1, y1] = points[n];
    const [x2, y2] = points[(n + 1) % points.length];
    sum += Math.hypot(x2 - x1, y2 - y1);
  }
  return sum;
}

/**
 * Set `value` in `mask` (nx * ny, x fastest: offset i + nx * j) for every pixel whose centre is
 * inside the polygon; returns the number of pixels set. Pixels outside the grid are ignored.
 */
export function fillPolygon(mask: Uint8Array, nx: number, ny: number, points: readonly Point[], value: number, centreOffset = 0): number {
  if (mask.length < nx * ny) throw new RangeError(`fillPolygon: mask holds ${mask.length} pixels, ${nx}x${ny} needed`);
  if (points.length < 3) return 0;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [, y] of points) {
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const j0 = Math.max(0, Math.floor(minY - centreOffset));
  const j1 = Math.min(ny - 1, Math.ceil(maxY - centreOffset));
  const xs: number[] = [];
  let count = 0;
  for (let j = j0; j <= j1; j++) {
    const yc = j + centreOffset;
    xs.length = 0;
    for (let n = 0; n < points.length; n++) {
      const [x1, y1] = points[n];
      const [x2, y2] = points[(n + 1) % points.length];
      if (y1 <= yc !== y2 <= yc) xs.push(x1 + ((yc - y1) / (y2 - y1)) * (x2 - x1));
    }
    xs.sort((a, b) => a - b);
    for (let p = 0; p + 1 < xs.length; p += 2) {
      // Centres x = i + centreOffset with xs[p] <= x < xs[p + 1].
      const iStart = Math.max(0, Math.ceil(xs[p] - centreOffset));
      const iEnd = Math.min(nx - 1, Math.ceil(xs[p + 1] - centreOffset) - 1);
      for (let i = iStart; i <= iEnd; i++) {
        mask[i + nx * j] = value;
        count++;
      }
    }
  }
  return count;
}
