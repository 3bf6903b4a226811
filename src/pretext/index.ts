export * from "./anatomical-position.js";
