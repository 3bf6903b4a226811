/**
 * Globs over a folder tree, for data manifests (manifest.ts): '/'-separated relative paths,
 * `*` within a segment, `?`, `**` across segments, and `{name}` variables (see compileGlob).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";

const escapeRe = (s: string) => s.replace(/[.+^$()|[\]\\{}*?]/g, "\\$&");

/**
 * A glob as an anchored RegExp. Variables in `vars` are substituted literally; `{id}` otherwise
 * becomes a named group matching `idPattern`, other variables one path segment. A variable that
 * occurs twice must match the same text both times.
 */
export function compileGlob(pattern: string, vars: Record<string, string>, idPattern: string): RegExp {
  let re = "";
  const seen = new Set<string>();
  for (let n = 0; n < pattern.length; ) {
    const rest = pattern.slice(n);
    if (rest.startsWith("**/")) [re, n] = [re + "(?:[^/]+/)*", n + 3];
    else if (rest.startsWith("**")) [re, n] = [re + ".*", n + 2];
    else if (rest[0] === "*") [re, n] = [re + "[^/]*", n + 1];
    else if (rest[0] === "?") [re, n] = [re + "[^/]", n + 1];
    else if (rest[0] === "{") {
      const m = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(rest);
      if (!m) throw new Error(`bad variable at "${rest}": use {name}`);
      const name = m[1];
      if (name in vars) re += escapeRe(vars[name]);
      else if (seen.has(name)) re += `\\k<${name}>`;
      else {
        re += `(?<${name}>${name === "id" ? `(?:${idPattern})` : "[^/]+"})`;
        seen.add(name);
      }
      n += m[0].length;
    } else [re, n] = [re + escapeRe(rest[0]), n + 1];
  }
  return new RegExp(`^${re}$`);
}

/** The part of a (substituted) glob before its first wildcard: every match starts with it. */
function literalPrefix(pattern: string): string {
  const stop = pattern.search(/[*?{]/);
  return stop < 0 ? pattern : pattern.slice(0, stop);
}

/** Sorted relative paths ('/'-separated; folders end with '/'), with prefix search. */
export class PathIndex {
  constructor(readonly paths: string[]) {
    paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  *withPrefix(prefix: string): Generator<string> {
    let lo = 0;
    let hi = this.paths.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.paths[mid] < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let n = lo; n < this.paths.length && this.paths[n].startsWith(prefix); n++) yield this.paths[n];
  }

  match(pattern: string, vars: Record<string, string>, idPattern: string): string[] {
    const re = compileGlob(pattern, vars, idPattern);
    const substituted = pattern.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (all, name: string) => (name in vars ? vars[name] : all));
    const out: string[] = [];
    for (const p of this.withPrefix(literalPrefix(substituted))) if (re.test(p)) out.push(p);
    return out;
  }
}

/** Every file and folder below `root`, relative, '/'-separated, folders with a trailing '/'. */
export async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const abs = rel ? path.join(root, rel) : root;
    const entries = await fs.readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) isDir = await fs.stat(path.join(abs, e.name)).then((s) => s.isDirectory(), () => false);
      if (isDir) {
        out.push(`${r}/`);
        await visit(r);
      } else out.push(r);
    }
  };
  await visit("");
  return out;
}
