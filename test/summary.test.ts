import assert from "node:assert/strict";
import { test } from "node:test";
import { axisCodes } from "../src/io/orientation.js";
import { labelVolumes, summarizeVolume } from "../src/io/summary.js";
import type { Volume } from "../src/io/volume.js";

test("label volumes in ml come from the voxel spacing", () => {
  // 2 x 2 x 2 voxels of 2 x 3 x 5 mm = 30 mm^3 = 0.03 ml each.
  const v: Volume = {
    data: new Uint8Array([0, 0, 0, 1, 1, 1, 1, 3]),
    shape: [2, 2, 2],
    spacing: [2, 3, 5],
    affine: [[2, 0, 0, 0], [0, 3, 0, 0], [0, 0, 5, 0], [0, 0, 0, 1]],
  };
  const got = labelVolumes(v);
  assert.deepEqual(got.map((l) => [l.label, l.voxels]), [[0, 3], [1, 4], [3, 1]]);
  assert.ok(Math.abs(got[1].ml - 0.12) < 1e-12);
  const s = summarizeVolume(v);
  assert.equal(s.min, 0);
  assert.equal(s.max, 3);
  assert.equal(s.mean, 7 / 8);
  assert.equal(s.dtype, "uint8");
});

test("non-integer data gets no label table; float-typed label maps do", () => {
  const affine = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  const image: Volume = { data: new Float32Array([0, 1.5]), shape: [2, 1, 1], spacing: [1, 1, 1], affine };
  assert.equal(summarizeVolume(image).labels, undefined);
  const labels: Volume = { data: new Float64Array([0, 3, 3]), shape: [3, 1, 1], spacing: [1, 1, 1], affine };
  assert.deepEqual(summarizeVolume(labels).labels?.map((l) => [l.label, l.voxels]), [[0, 1], [3, 2]]);
});

test("orientation codes: one world axis per voxel axis, as nibabel assigns them", () => {
  assert.equal(axisCodes([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "RAS");
  // DICOM-like LPS voxel axes expressed in RAS world: i -> -x (L), j -> -y (P), k -> +z (S).
  assert.equal(axisCodes([[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "LPS");
  // Oblique: columns mostly along y, -z, x.
  assert.equal(axisCodes([[0.1, 0.2, 0.9, 0], [0.9, 0.1, 0.2, 0], [0.2, -0.9, 0.1, 0], [0, 0, 0, 1]]), "AIR");
});
