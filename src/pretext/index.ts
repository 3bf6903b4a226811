export * from "./anatomical-position.js";
export * from "./plane-intersection.js";
export * from "./slice-location.js";
export * from "./plane-location-multitask.js";
