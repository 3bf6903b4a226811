export * from "./losses.js";
export * from "./optimizer.js";
export * from "./checkpoint.js";
export * from "./progress.js";
export * from "./trainer.js";
