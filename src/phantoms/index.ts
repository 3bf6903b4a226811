export * as cardiac from "./cardiac/index.js";
export { demoVolume, type DemoOptions } from "./demo.js";
