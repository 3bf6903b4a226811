/** An assert.rejects / assert.throws check: a VolumeFileError for exactly `file` whose message matches `problem`. */
import assert from "node:assert/strict";
import { VolumeFileError } from "../../src/io/errors.js";

export function fileError(file: string, problem: RegExp): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(e instanceof VolumeFileError, `expected a VolumeFileError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.message, problem);
    return true;
  };
}
