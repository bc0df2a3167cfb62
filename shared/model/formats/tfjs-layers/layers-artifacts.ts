// Reads a TF.js model.json and its weight shards from a model directory into memory: the form both
// engines take (TF.js through tf.io.fromMemory, ONNX Runtime through the project's exporter).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CloudsegError } from '../../../errors.js';

/** One entry of a TF.js weights manifest (tfjs-core's io.WeightsManifestEntry). */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
}

export interface ModelArtifacts {
  modelTopology: Record<string, unknown>;
  weightSpecs: WeightSpec[];
  /** Every shard, concatenated in manifest order. */
  weightData: ArrayBuffer;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

interface ModelJson {
  modelTopology?: Record<string, unknown>;
  weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** model.json + shards of `<dir>/<modelFile>`; a missing file is MODEL_NOT_FOUND, a broken one MODEL_LOAD_FAILED. */
export async function readModelArtifacts(dir: string, modelFile: string): Promise<ModelArtifacts> {
  const modelPath = join(dir, modelFile);
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(modelPath, 'utf8')) as ModelJson;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CloudsegError(missing ? 'MODEL_NOT_FOUND' : 'MODEL_LOAD_FAILED', `cannot read ${modelPath}: ${(err as Error).message}`, { cause: err });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new CloudsegError('MODEL_LOAD_FAILED', `${modelPath} is not a TF.js model.json (no modelTopology/weightsManifest)`);
  }
  const modelDir = dirname(modelPath);
  const weightSpecs: WeightSpec[] = [];
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) {
      try {
        shards.push(await readFile(join(modelDir, shard)));
      } catch (err) {
        throw new CloudsegError('MODEL_LOAD_FAILED', `cannot read weight shard ${shard}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  const all = Buffer.concat(shards);
  return {
    modelTopology: json.modelTopology,
    weightSpecs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
    ...(json.format !== undefined ? { format: json.format } : {}),
    ...(json.generatedBy !== undefined ? { generatedBy: json.generatedBy } : {}),
    convertedBy: json.convertedBy ?? null,
  };
}
