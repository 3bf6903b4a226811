/**
 * A whole synthetic cine exam: every planned view at end-diastole and end-systole, and writing it
 * to disk in the M&Ms-2 file layout (datasets/mnms2.ts names the files: NNN_SA_ED.nii.gz,
 * NNN_LA_ED.nii.gz for the 4CH view as in M&Ms-2, NNN_LA_2CH_ED.nii.gz / NNN_LA_3CH_ED.nii.gz for
 * the views M&Ms-2 lacks, _gt for labels) so synthetic and real subjects go through one loader.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { mnms2Name } from "../../datasets/mnms2.js";
import { writeNifti } from "../../io/nifti.js";
import { acquireView, type AcquiredView } from "./acquire.js";
import type { Phase } from "./anatomy.js";
import { sampleCardiacSubject, type CardiacSubject } from "./subject.js";
import { DEFAULT_EXAM, planExam, type ExamOptions, type ViewName } from "./views.js";

export type CardiacExam = {
  subject: CardiacSubject;
  views: Record<ViewName, Record<Phase, AcquiredView>>;
};

export function generateCardiacExam(seed: number, options: ExamOptions = DEFAULT_EXAM): CardiacExam {
  const subject = sampleCardiacSubject(seed);
  const views = {} as CardiacExam["views"];
  for (const plan of planExam(subject, options)) {
    views[plan.name] = { ED: acquireView(subject, plan, "ED"), ES: acquireView(subject, plan, "ES") };
  }
  return { subject, views };
}

/** Zero-padded subject id as M&Ms-2 uses it ("001"). */
export function subjectId(index: number): string {
  return String(index).padStart(3, "0");
}

/** Write every view and phase of an exam into `dir`; returns the files written. */
export async function writeCardiacExam(dir: string, id: string, exam: CardiacExam): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [view, phases] of Object.entries(exam.views) as [ViewName, Record<Phase, AcquiredView>][]) {
    for (const phase of ["ED", "ES"] as const) {
      for (const labels of [false, true]) {
        const file = path.join(dir, mnms2Name(id, view, phase, labels));
        await writeNifti(file, labels ? phases[phase].labels : phases[phase].image);
        written.push(file);
      }
    }
  }
  return written;
}
