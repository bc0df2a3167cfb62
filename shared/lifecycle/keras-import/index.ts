// `import-keras`: a Keras HDF5 model -> a TF.js Layers model directory the pipeline loads
// (model.json + one weight shard + model-card.yaml). Deterministic: same inputs, same bytes.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MODEL_CARD_FILE } from '../../model/card.js';
import type { LifecycleParams } from '../lifecycle-params.js';
import type { ModelCard } from '../../model/types.js';
import { buildModelCard, modelCardYaml, type CardIdentity } from './card-builder.js';
import { readKerasHdf5 } from './hdf5-model.js';
import { convertModelConfig } from './topology.js';
import { packWeights, WEIGHT_SHARD_FILE } from './weights.js';

export { SUPPORTED_LAYERS } from './topology.js';

export const MODEL_JSON_FILE = 'model.json';

export interface ImportKerasOptions {
  outDir: string;
  identity: CardIdentity;
  params: Pick<LifecycleParams, 'model' | 'presets' | 'defaultPreset'>;
}

export interface ImportedModel {
  outDir: string;
  files: string[];
  card: ModelCard;
  parameters: number;
  inputChannels: number | null;
  layerClasses: string[];
  sourceMd5: string;
}

export async function importKerasModel(hdf5Path: string, options: ImportKerasOptions): Promise<ImportedModel> {
  // In this order: readKerasHdf5 turns a missing or unreadable file into MODEL_IMPORT_INVALID, which
  // a raw readFile racing it could pre-empt with a bare ENOENT.
  const keras = await readKerasHdf5(hdf5Path);
  const sourceBytes = await readFile(hdf5Path);
  const sourceMd5 = createHash('md5').update(sourceBytes).digest('hex');
  // Everything that can be refused is checked before a file is written.
  const topology = convertModelConfig(keras.modelConfig);
  const weights = packWeights(keras.layers);
  const card = buildModelCard(options.identity, options.params, topology);
  const source = `${basename(hdf5Path)} (md5 ${sourceMd5})`;

  const modelJson = {
    format: 'layers-model',
    generatedBy: keras.kerasVersion ? `keras v${keras.kerasVersion}` : 'keras',
    convertedBy: `cloudseg model import-keras from ${source}`,
    modelTopology: {
      ...(keras.kerasVersion ? { keras_version: keras.kerasVersion } : {}),
      ...(keras.backend ? { backend: keras.backend } : {}),
      model_config: topology.modelConfig,
    },
    weightsManifest: [{ paths: [WEIGHT_SHARD_FILE], weights: weights.entries }],
  };

  await mkdir(options.outDir, { recursive: true });
  await Promise.all([
    writeFile(join(options.outDir, MODEL_JSON_FILE), `${JSON.stringify(modelJson)}\n`),
    writeFile(join(options.outDir, WEIGHT_SHARD_FILE), weights.data),
    writeFile(join(options.outDir, MODEL_CARD_FILE), modelCardYaml(card, source)),
  ]);
  return {
    outDir: options.outDir,
    files: [MODEL_JSON_FILE, WEIGHT_SHARD_FILE, MODEL_CARD_FILE],
    card,
    parameters: weights.parameters,
    inputChannels: topology.inputChannels,
    layerClasses: topology.layerClasses,
    sourceMd5,
  };
}
