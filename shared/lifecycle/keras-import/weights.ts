// Packs Keras weights into one TF.js weight shard: float32 little-endian, in layer order, with the
// manifest entries (name, shape, dtype) tfjs-layers matches them by.
import { CloudsegError } from '../../errors.js';
import type { KerasWeight } from './hdf5-model.js';

export const WEIGHT_SHARD_FILE = 'group1-shard1of1.bin';

export interface WeightManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface PackedWeights {
  entries: WeightManifestEntry[];
  data: Uint8Array;
  parameters: number;
}

export function packWeights(layers: { name: string; weights: KerasWeight[] }[]): PackedWeights {
  const entries: WeightManifestEntry[] = [];
  const parts: Float32Array[] = [];
  let parameters = 0;
  const seen = new Set<string>();
  for (const layer of layers) {
    for (const weight of layer.weights) {
      const count = weight.shape.reduce((a, b) => a * b, 1);
      if (count !== weight.values.length) {
        throw new CloudsegError('MODEL_IMPORT_INVALID', `weight ${weight.name} has shape [${weight.shape.join(', ')}] but ${weight.values.length} values`);
      }
      if (seen.has(weight.name)) throw new CloudsegError('MODEL_IMPORT_INVALID', `weight ${weight.name} appears twice`);
      seen.add(weight.name);
      entries.push({ name: weight.name, shape: [...weight.shape], dtype: 'float32' });
      parts.push(weight.values);
      parameters += count;
    }
  }
  const data = new Uint8Array(parameters * 4);
  const view = new DataView(data.buffer);
  let offset = 0;
  for (const values of parts) {
    // Explicit little-endian: the shard format is LE whatever the host is.
    for (const v of values) {
      view.setFloat32(offset, v, true);
      offset += 4;
    }
  }
  return { entries, data, parameters };
}
