/**
 * `anatomy-ssl data ...`: list the data manifests, verify a local copy of a dataset. Kept here so
 * src/cli.ts only dispatches.
 */
import { findManifest, formatVerifyReport, listManifests, verifyDataset } from "./manifest";

export const DATA_USAGE = `usage:
  anatomy-ssl data list                          datasets described in data-manifests/
  anatomy-ssl data verify DATASET DIR [--all] [--no-checksums]
      check a local copy: missing files per subject, checksum mismatches, layout. --all: fewer
      subjects than the full dataset is an error (default: a partial copy is fine)`;

/** Returns the process exit code: 0 ok, 1 verification failed, 2 bad arguments. */
export async function dataCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "list") {
    for (const m of await listManifests()) {
      const n = m.layout.expectedSubjects.total;
      const reg = m.obtain.registration === true ? "registration needed" : m.obtain.registration === false ? "no registration" : "registration unknown";
      console.log(`${m.name.padEnd(12)} ${m.title}`);
      console.log(`${"".padEnd(12)} ${n ?? "?"} subjects; license: ${m.license.name}${m.license.verified ? "" : " (not verified)"}; ${reg}`);
      console.log(`${"".padEnd(12)} ${m.sources[0].url}`);
    }
    return 0;
  }
  if (sub === "verify") {
    const flags = rest.filter((a) => a.startsWith("--"));
    const positional = rest.filter((a) => !a.startsWith("--"));
    const unknown = flags.filter((f) => f !== "--all" && f !== "--no-checksums");
    if (positional.length !== 2 || unknown.length > 0) {
      console.error(`anatomy-ssl data verify: expected DATASET DIR${unknown.length ? `; unknown option ${unknown.join(" ")}` : ""}\n\n${DATA_USAGE}`);
      return 2;
    }
    const [name, dir] = positional;
    const manifest = await findManifest(name);
    const report = await verifyDataset(manifest, dir, { requireAll: flags.includes("--all"), skipChecksums: flags.includes("--no-checksums") });
    console.log(formatVerifyReport(report));
    return report.ok ? 0 : 1;
  }
  console.error(sub === undefined ? DATA_USAGE : `anatomy-ssl data: unknown subcommand '${sub}'\n\n${DATA_USAGE}`);
  return 2;
}
