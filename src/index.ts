/**
 * anatomy-ssl: self-supervised learning with anatomical priors for medical image segmentation.
 * The modules follow the data flow of the design: io -> geometry -> phantoms | datasets ->
 * transforms -> pretext -> models -> train -> metrics -> experiments. Import from here, or from
 * a module directly (e.g. "anatomy-ssl/dist/src/geometry/index.js") to load less.
 */
export * as backend from "./backend/index.js";
export * as io from "./io/index.js";
export * as geometry from "./geometry/index.js";
export * as phantoms from "./phantoms/index.js";
export * as datasets from "./datasets/index.js";
export * as transforms from "./transforms/index.js";
export * as pretext from "./pretext/index.js";
export * as models from "./models/index.js";
export * as train from "./train/index.js";
export * as metrics from "./metrics/index.js";
export * as experiments from "./experiments/index.js";
export { Random } from "./random.js";
export { gitCommit, machineInfo, packageVersions } from "./provenance.js";
