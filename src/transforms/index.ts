export * from "./intensity.js";
export * from "./resample.js";
export * from "./augment.js";
export * from "./largest-component.js";
export * from "./views3d.js";
