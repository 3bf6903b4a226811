/**
 * A whole synthetic cine exam: every planned view at end-diastole and end-systole, and writing it
 * to disk in the M&Ms-2 file layout so synthetic and real subjects go through one loader.
 */
import * as fs from "node:fs";
import * as path from "node:path";
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

/**
 * File name of a view in the M&Ms-2 layout: NNN_SA_ED.nii.gz, NNN_LA_ED.nii.gz (the 4CH view, as
 * in M&Ms-2), and, for the views M&Ms-2 does not have, NNN_LA_2CH_ED.nii.gz / NNN_LA_3CH_ED.nii.gz.
 * Label maps add _gt before the extension.
 */
export function mnms2FileName(id: string, view: ViewName, phase: Phase, labels: boolean): string {
  const viewPart = view === "SA" ? "SA" : view === "4CH" ? "LA" : `LA_${view}`;
  return `${id}_${viewPart}_${phase}${labels ? "_gt" : ""}.nii.gz`;
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
        const file = path.join(dir, mnms2FileName(id, view, phase, labels));
        await writeNifti(file, labels ? phases[phase].labels : phases[phase].image);
        written.push(file);
      }
    }
  }
  return written;
}
