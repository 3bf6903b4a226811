/**
 * Saving and loading tensors and models from Node without tfjs-node (which has the only
 * file-system handler in tfjs and cannot be installed offline).
 *
 * - `saveTensors`/`loadTensors`: named tensors (weights, optimiser moments) in one file: an
 *   8-byte little-endian header length, a JSON header (name, shape, dtype, byte offset per
 *   tensor, plus free-form metadata) and the raw little-endian data. Written to a temporary file
 *   and renamed, so an interrupted run never leaves a half-written checkpoint behind.
 * - `fileSystemHandler(dir)`: a tf.io.IOHandler writing model.json + weights.bin in the standard
 *   tfjs layout, so `model.save(fileSystemHandler(dir))` and
 *   `tf.loadLayersModel(fileSystemHandler(dir))` work as they do with tfjs-node's "file://".
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";

export interface NamedTensorData {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
  values: Float32Array | Int32Array;
}

interface Header {
  format: "anatomy-ssl-tensors/1";
  tensors: { name: string; shape: number[]; dtype: "float32" | "int32"; offset: number; length: number }[];
  metadata: unknown;
}

/** Write a file atomically: to a sibling temporary file, then rename over the target. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

export async function saveTensors(file: string, tensors: { name: string; tensor: tf.Tensor }[], metadata: unknown = {}): Promise<void> {
  const entries: Header["tensors"] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const { name, tensor } of tensors) {
    if (tensor.dtype !== "float32" && tensor.dtype !== "int32") throw new Error(`saveTensors(${file}): ${name} has dtype ${tensor.dtype}; only float32 and int32 are stored`);
    const values = (await tensor.data()) as Float32Array | Int32Array;
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    entries.push({ name, shape: tensor.shape, dtype: tensor.dtype, offset, length: values.length });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const header = Buffer.from(JSON.stringify({ format: "anatomy-ssl-tensors/1", tensors: entries, metadata } satisfies Header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  writeFileAtomic(file, Buffer.concat([prefix, header, ...chunks]));
}

export function loadTensors(file: string): { tensors: NamedTensorData[]; metadata: unknown } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read checkpoint: ${(e as Error).message}`);
  }
  if (buf.length < 8) throw new Error(`${file}: not a checkpoint (file too short)`);
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (8 + headerLength > buf.length) throw new Error(`${file}: not a checkpoint (header length ${headerLength} beyond end of file)`);
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString("utf8")) as Header;
  } catch {
    throw new Error(`${file}: not a checkpoint (header is not JSON)`);
  }
  if (header.format !== "anatomy-ssl-tensors/1") throw new Error(`${file}: unknown checkpoint format ${String(header.format)}`);
  const dataStart = 8 + headerLength;
  const tensors = header.tensors.map((t) => {
    const start = dataStart + t.offset;
    const end = start + t.length * 4;
    if (end > buf.length) throw new Error(`${file}: truncated (tensor ${t.name} ends at byte ${end} of ${buf.length})`);
    // Copy into an aligned buffer: the slice inside `buf` may not be 4-byte aligned.
    const bytes = new Uint8Array(buf.subarray(start, end));
    const values = t.dtype === "int32" ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return { name: t.name, shape: t.shape, dtype: t.dtype, values };
  });
  return { tensors, metadata: header.metadata };
}

/** A model's weights by their tfjs names (e.g. "enc1_conv1/kernel"), including BN moving statistics. */
export function modelWeights(model: tf.LayersModel): { name: string; tensor: tf.Tensor }[] {
  return model.weights.map((w) => ({ name: w.originalName, tensor: w.read() }));
}

export async function saveModelWeights(file: string, model: tf.LayersModel, metadata: unknown = {}): Promise<void> {
  await saveTensors(file, modelWeights(model), metadata);
}

/**
 * Load weights saved by saveModelWeights into `model`, matching by name. Every weight of the
 * model must be present with the same shape, unless `allowMissing` (used for partial transfer,
 * where the caller decides which names to take).
 */
export function loadModelWeights(file: string, model: tf.LayersModel, options: { allowMissing?: boolean } = {}): string[] {
  const { tensors } = loadTensors(file);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const loaded: string[] = [];
  const missing: string[] = [];
  for (const w of model.weights) {
    const t = byName.get(w.originalName);
    if (!t) {
      missing.push(w.originalName);
      continue;
    }
    if (t.shape.join("x") !== w.shape.join("x")) throw new Error(`${file}: weight ${w.originalName} has shape [${t.shape}] but the model expects [${w.shape}]`);
    const value = tf.tensor(t.values, t.shape, t.dtype);
    w.write(value);
    value.dispose();
    loaded.push(w.originalName);
  }
  if (missing.length > 0 && !options.allowMissing) throw new Error(`${file}: missing weights ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`);
  return loaded;
}

/** tf.io.IOHandler for a folder holding model.json and weights.bin. */
export function fileSystemHandler(dir: string): tf.io.IOHandler {
  const modelJson = path.join(dir, "model.json");
  const weightsBin = path.join(dir, "weights.bin");
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const data = artifacts.weightData;
      const weights = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileAtomic(weightsBin, new Uint8Array(weights));
      writeFileAtomic(modelJson, JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(fs.readFileSync(modelJson, "utf8")) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`${modelJson}: cannot read model: ${(e as Error).message}`);
      }
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
      const joined = Buffer.concat(buffers);
      const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy, trainingConfig: json.trainingConfig };
    },
  };
}
