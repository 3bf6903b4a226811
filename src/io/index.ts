/** Volumes in and out: the Volume type and its conventions, NIfTI-1, DICOM series, file errors. */
export * from "./volume";
export * from "./errors";
export * from "./nifti";
export * from "./caret-labels";
export * from "./dicom";
export * from "./orientation";
export * from "./summary";
export * from "./png";
