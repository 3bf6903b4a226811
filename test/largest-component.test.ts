// Largest-connected-component post-processing: a hand-made case, and components and sizes
// checked against scipy.ndimage.label on random volumes for both connectivities.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Random } from "../src/random.js";
import { connectedComponents, keepLargestComponent } from "../src/transforms/largest-component.js";
import { runPythonJson } from "./helpers/shared-data.js";
import { scipySkip } from "./helpers/scipy.js";

test("hand-made: per class, only the largest component survives; diagonal contact counts only with full connectivity", () => {
  // 5 x 3 x 1: class 1 has a 3-voxel run and a lone voxel; class 2 two single voxels touching at a corner.
  // y=0: 1 1 1 0 1
  // y=1: 0 0 0 2 0
  // y=2: 0 0 2 0 0
  const labels = Uint8Array.from([1, 1, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0]);
  const shape = [5, 3, 1] as const;
  const face = keepLargestComponent(labels, shape, [1, 2], "face");
  assert.deepEqual([...face], [1, 1, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0], "lone 1 removed; of two equal 2s the first kept");
  const full = keepLargestComponent(labels, shape, [1, 2], "full");
  assert.deepEqual([...full], [1, 1, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0], "the 2s touch at a corner: one component");
  assert.deepEqual([...keepLargestComponent(labels, shape, [3])], [...labels], "absent class: unchanged");
  assert.throws(() => connectedComponents(labels, [4, 3, 1], 1), /15 labels for shape 4x3x1/);
});

test("components match scipy.ndimage.label (6- and 26-connectivity) on random volumes", { skip: scipySkip("scipy.ndimage") }, () => {
  const rng = new Random(11);
  const shape = [9, 7, 5] as const;
  const cases = Array.from({ length: 6 }, () => Array.from({ length: 9 * 7 * 5 }, () => (rng.next() < 0.45 ? 1 : 0)));
  const ref = runPythonJson<{ face: number[]; full: number[] }[]>(
    `
import json, sys, numpy as np
from scipy import ndimage
out = []
for flat in json.load(sys.stdin):
    a = np.array(flat).reshape(5, 7, 9)  # z, y, x: x fastest as in the flat array
    r = {}
    for name, structure in (("face", None), ("full", np.ones((3, 3, 3)))):
        lab, n = ndimage.label(a, structure=structure)
        r[name] = sorted(np.bincount(lab.ravel())[1:].tolist(), reverse=True)
    out.append(r)
json.dump(out, sys.stdout)
`,
    [],
    { input: JSON.stringify(cases) },
  );
  cases.forEach((flat, i) => {
    for (const c of ["face", "full"] as const) {
      const sizes = connectedComponents(flat, shape, 1, c).sizes.slice(1).sort((a, b) => b - a);
      assert.deepEqual(sizes, ref[i][c], `case ${i} ${c}`);
      const kept = keepLargestComponent(Uint8Array.from(flat), shape, [1], c).reduce((s, v) => s + v, 0);
      assert.equal(kept, ref[i][c][0], `case ${i} ${c}: the largest component's size is what remains`);
    }
  });
});
