export * from "./vec.js";
export * from "./affine.js";
export * from "./plane.js";
export * from "./reslice.js";
export * from "./sa-orientation.js";
export * from "./reverse-axes.js";
