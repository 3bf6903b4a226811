export * from "./subject.js";
export * from "./anatomy.js";
export * from "./views.js";
export * from "./acquire.js";
export * from "./exam.js";
