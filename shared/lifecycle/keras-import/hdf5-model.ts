// Reads a Keras HDF5 model file (h5wasm): the `model_config` JSON attribute and every layer's
// weights from `model_weights/<layer>/` in the order its `weight_names` attribute lists them.
import { access, constants } from 'node:fs/promises';
import { basename } from 'node:path';
import h5wasm from 'h5wasm/node';
import { CloudsegError } from '../../errors.js';

export interface KerasWeight {
  /** `<layer>/<weight>` as TF.js names it, e.g. `input_conv_1/depthwise_kernel`. */
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface KerasHdf5Model {
  /** The parsed `model_config` attribute: `{ class_name, config }`. */
  modelConfig: { class_name: string; config: Record<string, unknown> };
  kerasVersion: string | null;
  backend: string | null;
  /** Layers that hold weights, in the file's `layer_names` order. */
  layers: { name: string; weights: KerasWeight[] }[];
}

/** Opens the file, reads what an import needs, closes it. MODEL_IMPORT_INVALID when it is not a Keras model. */
export async function readKerasHdf5(path: string): Promise<KerasHdf5Model> {
  // Checked first: libhdf5 would print a page of diagnostics for a missing file.
  await access(path, constants.R_OK).catch((err: unknown) => {
    throw new CloudsegError('MODEL_IMPORT_INVALID', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  });
  await h5wasm.ready;
  let file: InstanceType<typeof h5wasm.File>;
  try {
    file = new h5wasm.File(path, 'r');
  } catch (err) {
    throw new CloudsegError('MODEL_IMPORT_INVALID', `cannot open ${path} as HDF5: ${(err as Error).message}`, { cause: err });
  }
  // h5wasm reports a missing or non-HDF5 file by a closed handle, not an exception.
  if (!file.file_id || file.file_id < 0n) {
    throw new CloudsegError('MODEL_IMPORT_INVALID', `cannot open ${path} as HDF5`);
  }
  try {
    const where = basename(path);
    const modelConfig = parseModelConfig(stringAttr(file, 'model_config'), where);
    const weightsRoot = file.get('model_weights');
    // Keras writes weights either under /model_weights (whole model) or at the root (save_weights).
    const group = weightsRoot instanceof h5wasm.Group ? weightsRoot : file;
    const layerNames = stringListAttr(group, 'layer_names');
    if (!layerNames) throw new CloudsegError('MODEL_IMPORT_INVALID', `${where}: no layer_names attribute on the weights group`);
    const layers: KerasHdf5Model['layers'] = [];
    for (const layer of layerNames) {
      const layerGroup = group.get(layer);
      if (!(layerGroup instanceof h5wasm.Group)) {
        throw new CloudsegError('MODEL_IMPORT_INVALID', `${where}: layer ${layer} is listed but has no weights group`);
      }
      const weightNames = stringListAttr(layerGroup, 'weight_names') ?? [];
      if (weightNames.length === 0) continue;
      layers.push({ name: layer, weights: weightNames.map((w) => readWeight(layerGroup, layer, w, where)) });
    }
    return { modelConfig, kerasVersion: stringAttr(file, 'keras_version'), backend: stringAttr(file, 'backend'), layers };
  } finally {
    file.close();
  }
}

function readWeight(layerGroup: InstanceType<typeof h5wasm.Group>, layer: string, weightPath: string, where: string): KerasWeight {
  const dataset = layerGroup.get(weightPath);
  if (!(dataset instanceof h5wasm.Dataset)) {
    throw new CloudsegError('MODEL_IMPORT_INVALID', `${where}: weight ${layer}/${weightPath} is missing`);
  }
  const value = dataset.value;
  if (!(value instanceof Float32Array || value instanceof Float64Array)) {
    throw new CloudsegError('MODEL_IMPORT_UNSUPPORTED', `${where}: weight ${layer}/${weightPath} is ${dataset.dtype}, only float32/float64 are supported`, {
      details: { layer, weight: weightPath },
    });
  }
  // "input_conv_1_2/depthwise_kernel:0" -> "input_conv_1/depthwise_kernel": the variable scope
  // carries a session suffix; TF.js matches weights by layer name plus the variable's own name.
  const leaf = weightPath.split('/').pop()!.replace(/:\d+$/, '');
  return { name: `${layer}/${leaf}`, shape: dataset.shape ?? [], values: value instanceof Float32Array ? value : Float32Array.from(value) };
}

function parseModelConfig(text: string | null, where: string): KerasHdf5Model['modelConfig'] {
  if (text === null) throw new CloudsegError('MODEL_IMPORT_INVALID', `${where}: no model_config attribute (a weights-only file cannot be imported)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CloudsegError('MODEL_IMPORT_INVALID', `${where}: model_config is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const candidate = parsed as { class_name?: unknown; config?: unknown };
  if (typeof candidate?.class_name !== 'string' || typeof candidate.config !== 'object' || candidate.config === null) {
    throw new CloudsegError('MODEL_IMPORT_INVALID', `${where}: model_config has no class_name/config`);
  }
  return candidate as KerasHdf5Model['modelConfig'];
}

function stringAttr(node: InstanceType<typeof h5wasm.Group>, name: string): string | null {
  const attr = node.attrs[name];
  if (!attr) return null;
  const value = attr.value;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return null;
}

function stringListAttr(node: InstanceType<typeof h5wasm.Group>, name: string): string[] | null {
  const attr = node.attrs[name];
  if (!attr) return null;
  const value = attr.json_value;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return [value];
  return null;
}
