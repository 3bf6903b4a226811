/**
 * Point tests for stomach, pancreas and bowel (tubes: wall of fixed thickness around a lumen).
 * Gas sits on the anterior side of a lumen (supine patient): above a per-subject level in y.
 */
import type { Part } from "./part.js";
import { unionBox } from "./part.js";
import { TubeTest, wavesAt, wavesLevel, type Tube } from "./shapes.js";
import type { AbdomenSubject } from "./subject.js";
import { T } from "./tissues.js";

/** A tube whose inside (signed distance d <= 0) is shaded by `shade(d, x, y, z)`. */
function shadedTubePart(name: string, tube: Tube, shade: (d: number, x: number, y: number, z: number) => number): Part {
  const t = new TubeTest(tube);
  return {
    name,
    box: t.box,
    at(z) {
      const p = t.slice(z);
      if (!p) return null;
      return (x, y) => {
        const d = p.distance(x, y);
        return d > 0 ? 0 : shade(d, x, y, z);
      };
    },
  };
}

export function stomachPart(s: AbdomenSubject["stomach"]): Part {
  return shadedTubePart("stomach", s.tube, (d, _x, y) => (d > -s.wall ? T.stomach_wall : y > s.gasAbove ? T.stomach_gas : T.stomach_contents));
}

/** Pancreas with fat between its lobules (more in older adults): the label keeps the fat. */
export function pancreasPart(p: AbdomenSubject["pancreas"], textures: AbdomenSubject["textures"]): Part {
  const fatLevel = wavesLevel(p.fatFraction);
  return shadedTubePart("pancreas", p.tube, (_d, x, y, z) => (wavesAt(textures.pancreas, x, y, z) > fatLevel ? T.pancreas_fat : T.pancreas));
}

/**
 * Duodenum and small bowel hold fluid (and gas above their level); the colon holds mottled
 * stool with gas pockets, and gas above its own level. Where tubes touch, their lumens merge.
 */
export function bowelPart(b: AbdomenSubject["bowel"], textures: AbdomenSubject["textures"]): Part {
  const colonTube = new TubeTest(b.colon);
  const stoolGasLevel = wavesLevel(b.stoolGasFraction);
  const smallTubes = [b.duodenum, ...b.small].map((t) => new TubeTest(t));
  return {
    name: "bowel",
    box: unionBox(colonTube.box, ...smallTubes.map((t) => t.box)),
    at(z) {
      const colon = colonTube.slice(z);
      const small = smallTubes.map((t) => t.slice(z)).filter((t) => t !== null);
      if (!colon && small.length === 0) return null;
      return (x, y) => {
        const dc = colon ? colon.distance(x, y) : Infinity;
        let ds = Infinity;
        for (const t of small) ds = Math.min(ds, t.distance(x, y));
        const d = Math.min(dc, ds);
        if (d > 0) return 0;
        if (d > -b.wall) return T.bowel_wall;
        if (dc <= ds) {
          if (y > b.colonGasAbove) return T.bowel_gas;
          return wavesAt(textures.stool, x, y, z) > stoolGasLevel ? T.bowel_gas : T.stool;
        }
        return y > b.smallGasAbove ? T.bowel_gas : T.bowel_fluid;
      };
    },
  };
}
