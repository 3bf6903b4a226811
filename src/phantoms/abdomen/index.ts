/**
 * Synthetic abdominal CT: a seeded subject (subject.ts), analytic anatomy (anatomy*.ts), a CT
 * acquisition with partial volume and noise (acquire.ts), and measurements comparing the result
 * with real CT (realism.ts, real-samples.ts).
 */
export * from "./labels.js";
export * from "./tissues.js";
export * from "./subject.js";
export * from "./anatomy.js";
export * from "./acquire.js";
export * from "./generate.js";
export * from "./realism.js";
export * from "./real-samples.js";
