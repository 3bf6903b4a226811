export * as cardiac from "./cardiac/index.js";
export * as abdomen from "./abdomen/index.js";
export { demoVolume, type DemoOptions } from "./demo.js";
