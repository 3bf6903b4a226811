// A synthetic dataset folder is reused only by the generator and options that made it.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { ensureGeneratedFolder, type GeneratedFolder } from "../src/experiments/generated-data.js";

function folder(dir: string, over: Partial<GeneratedFolder> = {}): GeneratedFolder & { written: number[] } {
  const written: number[] = [];
  return {
    dir,
    generator: { name: "phantoms/test", version: 1 },
    fingerprint: "abc",
    options: { matrix: 8 },
    count: 3,
    complete: (seed) => fs.existsSync(path.join(dir, `${seed}.txt`)),
    write: async (seed) => {
      written.push(seed);
      fs.writeFileSync(path.join(dir, `${seed}.txt`), String(seed));
    },
    written,
    ...over,
  };
}

test("generated folders: written once, completed after an interruption, refused to other options or generators", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-generated-"));
  try {
    const first = folder(dir);
    assert.equal(await ensureGeneratedFolder(first), dir);
    assert.deepEqual(first.written, [1, 2, 3]);
    // A subject lost (an interrupted write) is made again; the others are kept.
    fs.rmSync(path.join(dir, "2.txt"));
    const again = folder(dir, { count: 4 });
    await ensureGeneratedFolder(again);
    assert.deepEqual(again.written, [2, 4]);
    await assert.rejects(ensureGeneratedFolder(folder(dir, { options: { matrix: 16 } })), /was made with other options .*"matrix":8/);
    await assert.rejects(ensureGeneratedFolder(folder(dir, { fingerprint: "xyz" })), /made by another phantoms\/test v1 \(output fingerprint abc, now xyz\): if src\/phantoms\/test changed, bump/);
    await assert.rejects(ensureGeneratedFolder(folder(dir, { generator: { name: "phantoms/test", version: 2 } })), /was made with other options/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
