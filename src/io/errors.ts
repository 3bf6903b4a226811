/**
 * One error type for every problem with an input file, so callers (and the fuzz test) can tell
 * "this file is bad" apart from a bug in our code: a TypeError or RangeError escaping a reader
 * is a bug, a VolumeFileError is a diagnosis.
 */
export class VolumeFileError extends Error {
  /** The file (path, or a caller-chosen name for in-memory data) the problem is in. */
  readonly file: string;
  /** What is wrong, without the file name. */
  readonly problem: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.name = "VolumeFileError";
    this.file = file;
    this.problem = problem;
  }
}

/** Text of anything thrown (libraries throw strings as well as Errors). */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Run `fn`, turning any failure into a VolumeFileError for `file` that says what we were doing.
 * A VolumeFileError thrown inside passes through unchanged.
 */
export function rethrowAsFileError<T>(file: string, doing: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof VolumeFileError) throw e;
    throw new VolumeFileError(file, `${doing}: ${describeThrown(e)}`, { cause: e });
  }
}
