/**
 * Data manifests (data-manifests/<name>.json): where a real dataset comes from, under which
 * license, how to cite it, and what a correct copy looks like on disk, so `verifyDataset` can say
 * what is missing or wrong in a user's folder before a long run fails half-way.
 *
 * Layout patterns are globs on '/'-separated paths: `*` (within one path segment), `?`, `**`
 * (any number of segments), `{id}` (the subject id, matching `layout.idPattern`) and `{name}`
 * (any other variable: one segment, captured when locating subjects, or a link value).
 * - `layout.subjects`: where subjects are. A pattern ending in '/' matches a folder, which becomes
 *   the subject's folder; otherwise it matches a file, whose folder becomes the subject's folder.
 * - `layout.required` / `layout.optional`: files each subject must / may have, relative to the
 *   subject's folder ("../" steps up from it: a sibling folder), or to the dataset root when the
 *   pattern starts with '/'. `min` (default 1) is how many files must match.
 * - `layout.links`: a CSV at the root mapping the subject id to another name used in patterns
 *   (Sunnybrook: the contour folder of SCD0000101 is SC-HF-I-1).
 * - `checksums`: sha256 by file, relative to a subject's folder (or the root with a leading '/').
 *   `origin` says who vouches for them: "publisher" (published with the data) or "known-sample"
 *   (computed by us on the sample copies our tests use; a re-compressed copy differs).
 */
import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import * as path from "node:path";
import { VolumeFileError, describeThrown } from "../io/errors";
import { projectRoot } from "../provenance";
import { PathIndex, compileGlob, walk } from "./glob";

export { compileGlob } from "./glob";

export interface FileRule {
  pattern: string;
  /** Least number of matching files; default 1. */
  min?: number;
  /** What the files are, for the report. */
  what?: string;
}

export interface LinkTable {
  /** CSV files (root-relative) to try in order; the first that exists is used. */
  files: string[];
  keyColumn: string;
  valueColumn: string;
  /** Variable name the value is available as in patterns. */
  as: string;
}

export interface ManifestLayout {
  description: string;
  idPattern: string;
  subjects: string[];
  required: FileRule[];
  optional?: FileRule[];
  ignore?: string[];
  links?: LinkTable[];
  expectedSubjects: { total: number | null; parts?: Record<string, number>; note?: string };
}

export interface ChecksumSet {
  origin: "publisher" | "known-sample";
  algorithm: "sha256";
  note: string;
  /** Root-relative path -> hash. */
  root?: Record<string, string>;
  /** Subject id -> (path relative to the subject's folder, or root with a leading '/') -> hash. */
  subjects?: Record<string, Record<string, string>>;
}

export interface DatasetManifest {
  name: string;
  title: string;
  description: string;
  sources: { url: string; what: string }[];
  license: { name: string; url?: string; statement?: string; verified: boolean };
  citation: string[];
  obtain: { registration: boolean | "unknown"; steps: string[] };
  layout: ManifestLayout;
  checksums?: ChecksumSet[];
  notes?: string[];
  /** The file it was loaded from (set by loadManifest). */
  file?: string;
}

// ----------------------------------------------------------------------------------------------
// Loading and validation

/** The project's data-manifests folder. */
export function manifestDir(): string {
  return path.join(projectRoot(), "data-manifests");
}

/** Read and validate one manifest; every problem is reported at once, naming the file. */
export async function loadManifest(file: string): Promise<DatasetManifest> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    throw new VolumeFileError(file, `cannot read manifest: ${describeThrown(e)}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VolumeFileError(file, `not valid JSON: ${describeThrown(e)}`, { cause: e });
  }
  const errors = validateManifest(json);
  const m = json as DatasetManifest;
  if (errors.length === 0 && m.name !== path.basename(file, ".json")) errors.push(`name "${m.name}" differs from the file name`);
  if (errors.length > 0) throw new VolumeFileError(file, `invalid manifest:\n  ${errors.join("\n  ")}`);
  return { ...m, file };
}

/** Every manifest in `dir` (default data-manifests/), sorted by name. */
export async function listManifests(dir = manifestDir()): Promise<DatasetManifest[]> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (e) {
    throw new VolumeFileError(dir, `cannot list manifests: ${describeThrown(e)}`, { cause: e });
  }
  return Promise.all(names.map((n) => loadManifest(path.join(dir, n))));
}

/** The manifest called `name` (data-manifests/<name>.json). */
export async function findManifest(name: string, dir = manifestDir()): Promise<DatasetManifest> {
  const file = path.join(dir, `${name}.json`);
  try {
    await fs.access(file);
  } catch {
    const known = (await listManifests(dir)).map((m) => m.name);
    throw new VolumeFileError(file, `no manifest for dataset '${name}' (known: ${known.join(", ")})`);
  }
  return loadManifest(file);
}

type Check = (v: unknown, at: string, errors: string[]) => void;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str: Check = (v, at, e) => void (typeof v === "string" && v.trim() !== "" ? 0 : e.push(`${at} must be a non-empty string`));
const bool: Check = (v, at, e) => void (typeof v === "boolean" ? 0 : e.push(`${at} must be true or false`));
const arrayOf = (item: Check, nonEmpty = true): Check => (v, at, e) => {
  if (!Array.isArray(v) || (nonEmpty && v.length === 0)) return void e.push(`${at} must be a${nonEmpty ? " non-empty" : "n"} array`);
  v.forEach((x, n) => item(x, `${at}[${n}]`, e));
};
const objectWith = (fields: Record<string, Check>, optional: Record<string, Check> = {}): Check => (v, at, e) => {
  if (!isObject(v)) return void e.push(`${at} must be an object`);
  for (const [k, check] of Object.entries(fields)) check(v[k], `${at}.${k}`, e);
  for (const [k, check] of Object.entries(optional)) if (v[k] !== undefined) check(v[k], `${at}.${k}`, e);
  for (const k of Object.keys(v)) if (!(k in fields) && !(k in optional)) e.push(`${at}.${k} is not a known field`);
};
const hashMap: Check = (v, at, e) => {
  if (!isObject(v)) return void e.push(`${at} must be an object of path -> sha256`);
  for (const [k, h] of Object.entries(v)) if (typeof h !== "string" || !/^[0-9a-f]{64}$/.test(h)) e.push(`${at}["${k}"] must be 64 lower-case hex digits`);
};
const fileRule = objectWith(
  { pattern: str },
  { min: (v, at, e) => void (Number.isInteger(v) && (v as number) >= 0 ? 0 : e.push(`${at} must be a whole number >= 0`)), what: str },
);

export function validateManifest(json: unknown): string[] {
  const errors: string[] = [];
  objectWith(
    {
      name: (v, at, e) => void (typeof v === "string" && /^[a-z0-9-]+$/.test(v) ? 0 : e.push(`${at} must be lower-case letters, digits and '-'`)),
      title: str,
      description: str,
      sources: arrayOf(objectWith({ url: (v, at, e) => void (typeof v === "string" && /^https?:\/\//.test(v) ? 0 : e.push(`${at} must be an http(s) URL`)), what: str })),
      license: objectWith({ name: str, verified: bool }, { url: str, statement: str }),
      citation: arrayOf(str),
      obtain: objectWith({ registration: (v, at, e) => void (typeof v === "boolean" || v === "unknown" ? 0 : e.push(`${at} must be true, false or "unknown"`)), steps: arrayOf(str) }),
      layout: objectWith(
        {
          description: str,
          idPattern: (v, at, e) => {
            if (typeof v !== "string") return void e.push(`${at} must be a regular expression string`);
            try {
              new RegExp(v);
            } catch (err) {
              e.push(`${at} is not a valid regular expression: ${describeThrown(err)}`);
            }
          },
          subjects: arrayOf(str),
          required: arrayOf(fileRule),
          expectedSubjects: objectWith(
            { total: (v, at, e) => void (v === null || (Number.isInteger(v) && (v as number) > 0) ? 0 : e.push(`${at} must be a positive whole number or null`)) },
            { parts: (v, at, e) => void (isObject(v) && Object.values(v).every((x) => Number.isInteger(x)) ? 0 : e.push(`${at} must map names to whole numbers`)), note: str },
          ),
        },
        {
          optional: arrayOf(fileRule, false),
          ignore: arrayOf(str, false),
          links: arrayOf(objectWith({ files: arrayOf(str), keyColumn: str, valueColumn: str, as: str })),
        },
      ),
    },
    {
      checksums: arrayOf(
        objectWith(
          {
            origin: (v, at, e) => void (v === "publisher" || v === "known-sample" ? 0 : e.push(`${at} must be "publisher" or "known-sample"`)),
            algorithm: (v, at, e) => void (v === "sha256" ? 0 : e.push(`${at} must be "sha256"`)),
            note: str,
          },
          {
            root: hashMap,
            subjects: (v, at, e) => {
              if (!isObject(v)) return void e.push(`${at} must map subject ids to path -> sha256 objects`);
              for (const [id, m] of Object.entries(v)) hashMap(m, `${at}["${id}"]`, e);
            },
          },
        ),
        false,
      ),
      notes: arrayOf(str, false),
      file: str,
    },
  )(json, "manifest", errors);
  if (errors.length === 0) {
    // Patterns must compile (unknown variables are fine: they match one segment).
    const m = json as DatasetManifest;
    const rules = [...m.layout.subjects, ...m.layout.required.map((r) => r.pattern), ...(m.layout.optional ?? []).map((r) => r.pattern), ...(m.layout.ignore ?? [])];
    for (const p of rules) {
      try {
        compileGlob(p, {}, m.layout.idPattern);
      } catch (err) {
        errors.push(`pattern "${p}": ${describeThrown(err)}`);
      }
    }
    if (!m.layout.subjects.every((p) => p.includes("{id}"))) errors.push("every layout.subjects pattern must contain {id}");
  }
  return errors;
}

// ----------------------------------------------------------------------------------------------
// Verification

export interface VerifyProblem {
  kind: "missing" | "checksum" | "layout" | "link";
  subject?: string;
  /** The file concerned (root-relative), when there is one. */
  file?: string;
  message: string;
}

export interface VerifyReport {
  dataset: string;
  dir: string;
  /** Subject ids found, sorted, with their folders (root-relative, "" for the root). */
  subjects: { id: string; dir: string }[];
  /** Subjects that have every required file. */
  complete: number;
  expected: number | null;
  checksums: { checked: number; matched: number; skipped: number };
  problems: VerifyProblem[];
  /** Not errors: missing optional files, a partial copy, files no rule expects. */
  notes: string[];
  ok: boolean;
}

export interface VerifyOptions {
  /** Treat fewer subjects than the manifest expects as a problem (default: a note). */
  requireAll?: boolean;
  /** Skip checksums (faster on big copies). */
  skipChecksums?: boolean;
}

interface FoundSubject {
  id: string;
  dir: string;
  vars: Record<string, string>;
}

/** Check a copy of a dataset in `dir` against its manifest. Never throws for a bad copy. */
export async function verifyDataset(manifest: DatasetManifest, dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = {
    dataset: manifest.name,
    dir,
    subjects: [],
    complete: 0,
    expected: manifest.layout.expectedSubjects.total,
    checksums: { checked: 0, matched: 0, skipped: 0 },
    problems: [],
    notes: [],
    ok: false,
  };
  let paths: PathIndex;
  try {
    paths = new PathIndex(await walk(dir));
  } catch (e) {
    report.problems.push({ kind: "layout", message: `cannot read ${dir}: ${describeThrown(e)}` });
    return report;
  }
  const { layout } = manifest;
  const idRe = layout.idPattern;

  // 1. Subjects.
  const subjects = new Map<string, FoundSubject>();
  const twice = new Set<string>();
  for (const pattern of layout.subjects) {
    const re = compileGlob(pattern, {}, idRe);
    for (const p of paths.paths) {
      const m = re.exec(p);
      if (!m?.groups?.id) continue;
      const sdir = pattern.endsWith("/") ? p.slice(0, -1) : path.posix.dirname(p) === "." ? "" : path.posix.dirname(p);
      const { id, ...vars } = m.groups;
      const other = subjects.get(id);
      if (other && other.dir !== sdir) {
        if (twice.has(`${id}\n${sdir}`)) continue; // once per place, not once per file
        twice.add(`${id}\n${sdir}`);
        report.problems.push({ kind: "layout", subject: id, file: p, message: `subject ${id} found in two places: '${other.dir || "."}' and '${sdir || "."}'` });
        continue;
      }
      if (!other) subjects.set(id, { id, dir: sdir, vars });
    }
  }
  const found = [...subjects.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  report.subjects = found.map((s) => ({ id: s.id, dir: s.dir }));
  if (found.length === 0)
    report.problems.push({ kind: "layout", message: `no subjects found: expected paths like ${layout.subjects.map((s) => `'${s}'`).join(" or ")} (id: /${idRe}/)` });

  // 2. Links (e.g. Sunnybrook's SCD id -> contour folder).
  const linkVars = new Map<string, Record<string, string>>();
  for (const link of layout.links ?? []) {
    const file = link.files.find((f) => paths.paths.includes(f));
    if (!file) {
      report.problems.push({ kind: "missing", file: link.files[0], message: `link file missing (tried ${link.files.join(", ")})` });
      continue;
    }
    const table = await readLinkCsv(path.join(dir, file), link);
    if (typeof table === "string") {
      report.problems.push({ kind: "link", file, message: table });
      continue;
    }
    for (const s of found) {
      const value = table.get(s.id);
      if (value === undefined) report.problems.push({ kind: "link", subject: s.id, file, message: `subject ${s.id} has no row in ${file}` });
      else linkVars.set(s.id, { ...(linkVars.get(s.id) ?? {}), [link.as]: value });
    }
  }

  // 3. Required and optional files.
  const expectedFiles = new Set<string>();
  // "../" steps out of the subject's folder (BTCV: img/imgNNNN.nii.gz's label is ../label/).
  const resolve = (s: FoundSubject, pattern: string) => path.posix.normalize(pattern.startsWith("/") ? pattern.slice(1) : s.dir ? `${s.dir}/${pattern}` : pattern);
  for (const s of found) {
    const vars = { ...s.vars, ...(linkVars.get(s.id) ?? {}), id: s.id };
    let complete = true;
    for (const [rules, required] of [[layout.required, true], [layout.optional ?? [], false]] as const) {
      for (const rule of rules) {
        const full = resolve(s, rule.pattern);
        const unset = [...full.matchAll(/\{([A-Za-z_]\w*)\}/g)].map((m) => m[1]).filter((name) => !(name in vars));
        if (unset.length > 0) {
          // Left open, {x} would match any folder (another subject's): skip the rule instead.
          // A failed link is reported above; anything else is a manifest mistake.
          if (required) complete = false;
          const linked = (layout.links ?? []).map((l) => l.as);
          if (unset.some((name) => !linked.includes(name)))
            report.problems.push({ kind: "layout", subject: s.id, message: `manifest pattern ${rule.pattern} uses {${unset.join("}, {")}}, which has no value` });
          continue;
        }
        const matches = paths.match(full, vars, idRe).filter((p) => !p.endsWith("/") || full.endsWith("/"));
        matches.forEach((p) => expectedFiles.add(p));
        const min = rule.min ?? 1;
        if (matches.length >= min) continue;
        const shown = substitute(full, vars);
        const have = matches.length === 0 ? "missing" : `only ${matches.length} of at least ${min} present`;
        if (required) {
          complete = false;
          report.problems.push({ kind: "missing", subject: s.id, file: shown, message: `${have}: ${shown}${rule.what ? ` (${rule.what})` : ""}` });
        } else {
          report.notes.push(`subject ${s.id}: optional ${shown}${rule.what ? ` (${rule.what})` : ""} ${have}`);
        }
      }
    }
    if (complete) report.complete++;
  }

  // 4. Files inside subject folders that no rule expects (a typo'd name, a stray copy).
  const ignore = (layout.ignore ?? []).map((g) => compileGlob(g, {}, idRe));
  const unexpected = new Set<string>();
  for (const s of found) {
    for (const p of paths.withPrefix(s.dir ? `${s.dir}/` : "")) {
      if (p.endsWith("/") || expectedFiles.has(p) || ignore.some((re) => re.test(p))) continue;
      if (!s.dir && p.includes("/")) continue; // flat layout: only the root's own files
      unexpected.add(p);
    }
  }
  if (unexpected.size > 0) {
    const list = [...unexpected].sort();
    report.notes.push(`${list.length} file(s) in subject folders match no layout rule: ${list.slice(0, 8).join(", ")}${list.length > 8 ? ", ..." : ""}`);
  }

  // 5. Counts.
  const expected = layout.expectedSubjects.total;
  if (expected !== null) {
    if (found.length > expected) report.problems.push({ kind: "layout", message: `${found.length} subjects found, more than the ${expected} the dataset has` });
    else if (found.length < expected) {
      const msg = `${found.length} of ${expected} subjects present (a partial copy)`;
      if (options.requireAll) report.problems.push({ kind: "layout", message: msg });
      else report.notes.push(msg);
    }
  }

  // 6. Checksums, for files of subjects that are present.
  if (!options.skipChecksums) await checkSums(manifest, dir, subjects, paths, report);

  report.ok = report.problems.length === 0;
  return report;
}

function substitute(pattern: string, vars: Record<string, string>): string {
  return pattern.replace(/\{([A-Za-z_]\w*)\}/g, (all, name: string) => vars[name] ?? all);
}

async function checkSums(manifest: DatasetManifest, dir: string, subjects: Map<string, FoundSubject>, paths: PathIndex, report: VerifyReport): Promise<void> {
  const exists = new Set(paths.paths);
  for (const set of manifest.checksums ?? []) {
    const entries: { file: string; hash: string; subject?: string }[] = [];
    for (const [file, hash] of Object.entries(set.root ?? {})) entries.push({ file: file.replace(/^\//, ""), hash });
    for (const [id, files] of Object.entries(set.subjects ?? {})) {
      const s = subjects.get(id);
      for (const [file, hash] of Object.entries(files)) {
        if (!s) {
          report.checksums.skipped++;
          continue;
        }
        entries.push({ file: file.startsWith("/") ? file.slice(1) : s.dir ? `${s.dir}/${file}` : file, hash, subject: id });
      }
    }
    for (const e of entries) {
      if (!exists.has(e.file)) {
        // Root files are optional extras; a present subject's checksummed file is not (unless a
        // layout rule already reported it missing).
        const known = report.problems.some((p) => p.kind === "missing" && p.file === e.file);
        if (e.subject && !known) report.problems.push({ kind: "missing", subject: e.subject, file: e.file, message: `missing: ${e.file} (listed with a ${set.origin} checksum)` });
        else report.checksums.skipped++;
        continue;
      }
      report.checksums.checked++;
      const actual = await sha256File(path.join(dir, e.file));
      if (actual === e.hash) report.checksums.matched++;
      else
        report.problems.push({
          kind: "checksum",
          subject: e.subject,
          file: e.file,
          message: `sha256 mismatch: ${e.file} is ${actual}, the ${set.origin} checksum is ${e.hash}${set.origin === "known-sample" ? " (a re-compressed or re-exported copy also differs)" : ""}`,
        });
    }
  }
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => h.update(chunk))
      .on("error", (e) => reject(new VolumeFileError(file, `cannot read: ${e.message}`, { cause: e })))
      .on("end", () => resolve(h.digest("hex")));
  });
}

async function readLinkCsv(file: string, link: LinkTable): Promise<Map<string, string> | string> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    return `cannot read: ${describeThrown(e)}`;
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = (lines[0] ?? "").split(",").map((s) => s.trim());
  const [k, v] = [header.indexOf(link.keyColumn), header.indexOf(link.valueColumn)];
  if (k < 0 || v < 0) return `header "${lines[0] ?? ""}" lacks the columns ${link.keyColumn} and ${link.valueColumn}`;
  const out = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const cells = line.split(",").map((s) => s.trim());
    if (cells[k] && cells[v]) out.set(cells[k], cells[v]);
  }
  return out;
}

/** The report as text for the CLI and logs. */
export function formatVerifyReport(r: VerifyReport): string {
  const lines: string[] = [];
  const n = r.subjects.length;
  const of = r.expected !== null ? ` (the full dataset has ${r.expected})` : "";
  lines.push(`${r.dataset} at ${r.dir}: ${n} subject${n === 1 ? "" : "s"} found${of}, ${r.complete} with every required file`);
  if (n > 0 && n <= 20) lines.push(`  subjects: ${r.subjects.map((s) => s.id).join(", ")}`);
  const c = r.checksums;
  lines.push(`  checksums: ${c.checked} checked, ${c.matched} match${c.skipped ? `, ${c.skipped} not checked (subject or file absent)` : ""}`);
  if (r.problems.length > 0) {
    lines.push(`  problems (${r.problems.length}):`);
    for (const p of r.problems) lines.push(`    [${p.kind}]${p.subject ? ` ${p.subject}:` : ""} ${p.message}`);
  }
  for (const note of r.notes) lines.push(`  note: ${note}`);
  lines.push(r.ok ? "  OK" : "  FAILED");
  return lines.join("\n");
}
