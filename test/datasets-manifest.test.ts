import assert from "node:assert/strict";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { main } from "../src/cli.js";
import { compileGlob, findManifest, formatVerifyReport, listManifests, loadManifest, sha256File, verifyDataset, type DatasetManifest } from "../src/datasets/manifest.js";
import { VolumeFileError } from "../src/io/errors.js";
import { generateCardiacExam, writeCardiacExam } from "../src/phantoms/cardiac/index.js";
import { projectRoot, sharedDataPath, sharedDataSkip } from "./helpers/shared-data.js";

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), "anatomy-ssl-manifest-"));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run the CLI, returning its exit code and what it printed. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  console.error = console.log;
  try {
    const code = await main(args);
    return { code, out: lines.join("\n") };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

test("every manifest in data-manifests/ loads and validates", async () => {
  const all = await listManifests();
  assert.deepEqual(all.map((m) => m.name), ["acdc", "btcv", "kaggle-dsb", "kits19", "mnms2", "msd-ct", "sunnybrook"]);
  for (const m of all) {
    assert.ok(m.sources.length > 0 && m.citation.length > 0 && m.obtain.steps.length > 0, m.name);
    assert.ok(m.layout.expectedSubjects.total === null || m.layout.expectedSubjects.total > 0);
    // No hash is invented: only known samples (ours) so far, no publisher checksums exist.
    for (const set of m.checksums ?? []) assert.equal(set.origin, "known-sample", m.name);
  }
  const { code, out } = await cli(["data", "list"]);
  assert.equal(code, 0);
  for (const name of ["acdc", "btcv", "kaggle-dsb", "kits19", "mnms2", "msd-ct", "sunnybrook"]) assert.match(out, new RegExp(`^${name} `, "m"));
});

/**
 * Facts about our trimmed sample, not the published data, so they live here and not in a manifest:
 * shared/data/sunnybrook/link.csv keeps two of the redistribution's five rows (shared/data/README.md).
 */
const SAMPLE_CHANGED = ["sunnybrook/link.csv"];
const SAMPLE_LINK_CSV_SHA256 = "deb6594bebde2cc0996a55ca77678712cf4951e57c2cc9830bf93ff3d4d32f47";

test("known-sample checksums are exactly those of shared/data/SHA256SUMS, and none pins a file the sample changed", { skip: sharedDataSkip(["SHA256SUMS"]) }, async () => {
  const sums = new Map(
    readFileSync(sharedDataPath("SHA256SUMS"), "utf8").trim().split("\n").map((l) => {
      const [hash, file] = l.split(/\s+/);
      return [file.replace(/^\.\//, ""), hash] as const;
    }),
  );
  const pinned: string[] = [];
  // kits19: the sample renames data/case_NNNNN/segmentation.nii.gz to case_NNNNN_segmentation.nii.gz.
  const layouts = [["mnms2", "mnms2-001", () => ""], ["sunnybrook", "sunnybrook", (id: string) => `dicoms/${id}/`], ["kits19", "kits19-labels", (id: string) => `${id}_`]] as const;
  for (const [name, folder, subjectDir] of layouts) {
    const m = await findManifest(name);
    for (const set of m.checksums ?? []) {
      for (const [file, hash] of Object.entries(set.root ?? {})) {
        assert.equal(hash, sums.get(`${folder}/${file}`), file);
        pinned.push(`${folder}/${file.replace(/^\//, "")}`);
      }
      for (const [id, files] of Object.entries(set.subjects ?? {}))
        for (const [file, hash] of Object.entries(files)) {
          const rel = file.startsWith("/") ? file.slice(1) : `${subjectDir(id)}${file}`;
          assert.equal(hash, sums.get(`${folder}/${rel}`), rel);
          pinned.push(`${folder}/${rel}`);
        }
    }
  }
  assert.equal(pinned.length, 9 + 554 + 3);
  assert.deepEqual(pinned.filter((f) => SAMPLE_CHANGED.includes(f)), []);
  assert.equal(sums.get("sunnybrook/link.csv"), SAMPLE_LINK_CSV_SHA256);
});

test("invalid manifests are refused with errors naming the manifest file", async () => {
  const good = JSON.parse(readFileSync(path.join(projectRoot, "data-manifests", "acdc.json"), "utf8")) as DatasetManifest;
  const write = (name: string, body: unknown) => {
    const f = path.join(tmp, `${name}.json`);
    writeFileSync(f, typeof body === "string" ? body : JSON.stringify(body));
    return f;
  };
  const expectError = async (file: string, words: RegExp) =>
    assert.rejects(loadManifest(file), (e: unknown) => e instanceof VolumeFileError && e.file === file && words.test(e.message));
  await expectError(write("broken", "{ not json"), /not valid JSON/);
  await expectError(write("acdc", { ...good, license: { name: "x" }, sources: [] }), /manifest\.sources must be a non-empty array[\s\S]*manifest\.license\.verified must be true or false/);
  await expectError(write("other", good), /name "acdc" differs from the file name/);
  await expectError(write("acdc", { ...good, checksums: [{ origin: "publisher", algorithm: "sha256", note: "n", root: { "a.nii": "abc" } }] }), /root\["a.nii"\] must be 64 lower-case hex digits/);
  await expectError(write("acdc", { ...good, layout: { ...good.layout, idPattern: "(" } }), /idPattern is not a valid regular expression/);
  await expectError(write("acdc", { ...good, extra: 1 }), /manifest\.extra is not a known field/);
  await assert.rejects(findManifest("no-such-dataset"), /no manifest for dataset 'no-such-dataset' \(known: acdc, btcv, kaggle-dsb, kits19, mnms2, msd-ct, sunnybrook\)/);
});

test("globs: segments, ** and {variables}", () => {
  const re = compileGlob("**/patient{id}/patient{id}_frame??.nii.gz", {}, "\\d{3}");
  assert.equal(re.exec("database/training/patient001/patient001_frame12.nii.gz")?.groups?.id, "001");
  assert.equal(re.test("patient001/patient002_frame12.nii.gz"), false, "{id} twice must agree");
  assert.equal(re.test("patient001/patient001_frame12_gt.nii.gz"), false);
  assert.equal(compileGlob("{id}_*.nii.gz", {}, "\\d{3}").test("001/001_SA_ED.nii.gz"), false, "* stays within a segment");
  assert.equal(compileGlob("/contourfiles/{contourId}/x.txt".slice(1), { contourId: "SC-HF-I-1" }, "").test("contourfiles/SC-HF-I-1/x.txt"), true);
});

test("verify the real samples: M&Ms-2 subject 001 and Sunnybrook pass for the subjects present", { skip: sharedDataSkip(["mnms2-001"], ["sunnybrook"]) }, async () => {
  const mnms2 = await verifyDataset(await findManifest("mnms2"), sharedDataPath("mnms2-001"));
  assert.equal(mnms2.ok, true, formatVerifyReport(mnms2));
  assert.deepEqual(mnms2.subjects, [{ id: "001", dir: "" }]);
  assert.equal(mnms2.complete, 1);
  assert.deepEqual(mnms2.checksums, { checked: 9, matched: 9, skipped: 0 });
  assert.ok(mnms2.notes.includes("1 of 360 subjects present (a partial copy)"));
  assert.ok(mnms2.notes.some((n) => /001_SA_CINE\.nii\.gz .* missing/.test(n)), "the sample has no SA cine: noted, not an error");

  const { code, out } = await cli(["data", "verify", "sunnybrook", sharedDataPath("sunnybrook")]);
  console.log(out.replace(/^/gm, "# "));
  assert.equal(code, 0);
  assert.match(out, /2 subjects found \(the full dataset has 45\), 2 with every required file/);
  assert.match(out, /checksums: 554 checked, 554 match/);
  assert.match(out, /OK$/);
  // No manifest vouches for the sample's trimmed link.csv (it is not the published file); this test does.
  assert.equal(await sha256File(sharedDataPath("sunnybrook", "link.csv")), SAMPLE_LINK_CSV_SHA256);
  const strict = await cli(["data", "verify", "sunnybrook", sharedDataPath("sunnybrook"), "--all", "--no-checksums"]);
  assert.equal(strict.code, 1, "--all: a partial copy fails");
  assert.match(strict.out, /\[layout\] 2 of 45 subjects present/);
});

test(
  "verify a full Sunnybrook copy: a link.csv with more subjects than our sample passes",
  { skip: sharedDataSkip(["sunnybrook", "dicoms", "SCD0000101"], ["sunnybrook", "dicoms", "SCD0000201"], ["sunnybrook", "contourfiles"]) },
  async () => {
    // The redistribution's five subjects and link.csv rows (shared/data/README.md). Ours are
    // linked in; the three we lack stand in as links to ours (no checksum is pinned for them).
    const ours = { SCD0000101: "SC-HF-I-1", SCD0000201: "SC-HF-I-2" };
    const rows: [string, string, keyof typeof ours][] = [
      ["SCD0000101", "SC-HF-I-1", "SCD0000101"],
      ["SCD0000201", "SC-HF-I-2", "SCD0000201"],
      ["SCD0000301", "SC-HF-I-4", "SCD0000101"],
      ["SCD0000401", "SC-HF-I-5", "SCD0000201"],
      ["SCD0000501", "SC-HF-I-6", "SCD0000101"],
    ];
    const full = path.join(tmp, "sunnybrook-full");
    mkdirSync(path.join(full, "dicoms"), { recursive: true });
    mkdirSync(path.join(full, "contourfiles"));
    for (const [id, original, from] of rows) {
      symlinkSync(sharedDataPath("sunnybrook", "dicoms", from), path.join(full, "dicoms", id));
      symlinkSync(sharedDataPath("sunnybrook", "contourfiles", ours[from]), path.join(full, "contourfiles", original));
    }
    writeFileSync(path.join(full, "link.csv"), ["patient_id,original_id", ...rows.map(([id, original]) => `${id},${original}`), ""].join("\n"));

    const { code, out } = await cli(["data", "verify", "sunnybrook", full]);
    assert.equal(code, 0, out);
    assert.match(out, /5 subjects found \(the full dataset has 45\), 5 with every required file/);
    assert.match(out, /checksums: 554 checked, 554 match/);
    assert.match(out, /OK$/);
  },
);

test("verify a broken synthetic copy: the report names the missing _gt, the bad checksum, the stray file", async () => {
  const root = path.join(tmp, "synthetic");
  const exam = generateCardiacExam(3, { matrix: 32, pixel: 8 });
  await writeCardiacExam(path.join(root, "001"), "001", exam);
  await writeCardiacExam(path.join(root, "002"), "002", exam);
  // A manifest whose checksums vouch for the files as written.
  const manifest = await findManifest("mnms2");
  const subjects: Record<string, Record<string, string>> = {};
  for (const id of ["001", "002"])
    for (const f of readdirSync(path.join(root, id))) (subjects[id] ??= {})[f] = await sha256File(path.join(root, id, f));
  const withSums: DatasetManifest = { ...manifest, checksums: [{ origin: "publisher", algorithm: "sha256", note: "test", subjects }] };
  const clean = await verifyDataset(withSums, root);
  assert.equal(clean.ok, true, formatVerifyReport(clean));
  assert.equal(clean.checksums.matched, 32);

  unlinkSync(path.join(root, "002", "002_SA_ES_gt.nii.gz"));
  appendFileSync(path.join(root, "001", "001_LA_ED.nii.gz"), "x");
  copyFileSync(path.join(root, "001", "001_SA_ED_gt.nii.gz"), path.join(root, "001", "001_SA_ED_gt (copy).nii.gz"));
  const r = await verifyDataset(withSums, root);
  const text = formatVerifyReport(r);
  console.log(text.replace(/^/gm, "# "));
  assert.equal(r.ok, false);
  assert.equal(r.complete, 1);
  assert.deepEqual(
    r.problems.map((p) => [p.kind, p.subject, p.file]),
    [
      ["missing", "002", "002/002_SA_ES_gt.nii.gz"],
      ["checksum", "001", "001/001_LA_ED.nii.gz"],
    ],
  );
  assert.match(text, /\[missing\] 002: missing: 002\/002_SA_ES_gt\.nii\.gz \(its labels\)/);
  assert.match(text, /\[checksum\] 001: sha256 mismatch: 001\/001_LA_ED\.nii\.gz is [0-9a-f]{64}, the publisher checksum is/);
  assert.match(text, /match no layout rule: 001\/001_SA_ED_gt \(copy\)\.nii\.gz/);
  // The CLI (manifest without our checksums) still finds the missing file; exit code 1.
  const { code, out } = await cli(["data", "verify", "mnms2", root]);
  assert.equal(code, 1);
  assert.match(out, /002_SA_ES_gt\.nii\.gz/);
  assert.equal((await cli(["data", "verify", "mnms2"])).code, 2);
});

test("verify layouts with links and nested folders (Sunnybrook link.csv, ACDC, Kaggle DSB)", async () => {
  // Sunnybrook: a subject missing from link.csv (a link.csv other than the sample's is no checksum problem).
  if (existsSync(sharedDataPath("sunnybrook", "dicoms", "SCD0000101"))) {
    const sb = path.join(tmp, "sb");
    mkdirSync(path.join(sb, "dicoms"), { recursive: true });
    symlinkSync(sharedDataPath("sunnybrook", "dicoms", "SCD0000101"), path.join(sb, "dicoms", "SCD0000101"));
    symlinkSync(sharedDataPath("sunnybrook", "contourfiles"), path.join(sb, "contourfiles"));
    writeFileSync(path.join(sb, "link.csv"), "patient_id,original_id\nSCD0000201,SC-HF-I-2\n");
    const r = await verifyDataset(await findManifest("sunnybrook"), sb);
    assert.deepEqual(r.problems.map((p) => [p.kind, p.file]), [["link", "link.csv"]], formatVerifyReport(r));
    assert.match(r.problems[0].message, /subject SCD0000101 has no row in link\.csv/);
  }

  // ACDC: patient folders two levels down; one lacks its labels.
  const acdc = path.join(tmp, "acdc");
  for (const [part, id, gt] of [["training", "001", true], ["testing", "101", false]] as const) {
    const d = path.join(acdc, "database", part, `patient${id}`);
    mkdirSync(d, { recursive: true });
    for (const f of ["Info.cfg", `patient${id}_4d.nii.gz`, `patient${id}_frame01.nii.gz`, `patient${id}_frame12.nii.gz`]) writeFileSync(path.join(d, f), "");
    if (gt) for (const f of [`patient${id}_frame01_gt.nii.gz`, `patient${id}_frame12_gt.nii.gz`]) writeFileSync(path.join(d, f), "");
  }
  const a = await verifyDataset(await findManifest("acdc"), acdc);
  assert.deepEqual(a.subjects.map((s) => s.id), ["001", "101"]);
  assert.deepEqual(a.problems.map((p) => [p.subject, p.message]), [["101", "missing: database/testing/patient101/patient101_frame??_gt.nii.gz (ED and ES labels (ACDC convention: 1 RV, 2 myo, 3 LV))"]]);

  // Kaggle DSB: <part>/<id>/study/ with sax_* required, 2ch/4ch optional.
  const dsb = path.join(tmp, "dsb");
  for (const f of ["train/1/study/sax_5/IM-0001.dcm", "train/1/study/2ch_20/IM-0002.dcm", "validate/501/study/4ch_3/IM-0003.dcm"]) {
    mkdirSync(path.dirname(path.join(dsb, f)), { recursive: true });
    writeFileSync(path.join(dsb, f), "");
  }
  const k = await verifyDataset(await findManifest("kaggle-dsb"), dsb);
  assert.deepEqual(k.subjects, [{ id: "1", dir: "train/1/study" }, { id: "501", dir: "validate/501/study" }]);
  assert.deepEqual(k.problems.map((p) => [p.subject, p.file]), [["501", "validate/501/study/sax_*/*.dcm"]]);
  assert.ok(k.notes.some((n) => /subject 1: optional train\/1\/study\/4ch_\*\/\*\.dcm/.test(n)));
});
