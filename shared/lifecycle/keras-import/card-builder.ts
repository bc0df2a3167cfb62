// The model card an import writes beside model.json: identity and bands from the caller, tiling,
// threshold and scaling presets from params.yaml; validated by the same parser the pipeline uses.
import { stringify } from 'yaml';
import { CloudsegError } from '../../errors.js';
import { parseModelCard } from '../../model/card.js';
import type { LifecycleParams } from '../lifecycle-params.js';
import type { ModelCard } from '../../model/types.js';

export interface CardIdentity {
  name: string;
  version: string;
  bands: string[];
  licence?: string;
  credit?: string;
}

/** Card fields for `identity` with `params`; BAND_MISMATCH when the bands do not fit the model's input. */
export function buildModelCard(
  identity: CardIdentity,
  params: Pick<LifecycleParams, 'model' | 'presets' | 'defaultPreset'>,
  model: { inputChannels: number | null; outputActivation: ModelCard['output']['activation'] },
): ModelCard {
  const { inputChannels } = model;
  if (inputChannels !== null && identity.bands.length !== inputChannels) {
    throw new CloudsegError('BAND_MISMATCH', `the card would list ${identity.bands.length} bands (${identity.bands.join(', ')}) but the model takes ${inputChannels}`, {
      details: { cardBands: identity.bands.length, modelBands: inputChannels },
    });
  }
  const card = {
    name: identity.name,
    version: identity.version,
    format: 'tfjs-layers',
    modelFile: 'model.json',
    bands: identity.bands,
    presets: params.presets,
    defaultPreset: params.defaultPreset,
    tile: { size: params.model.tile, overlap: params.model.overlap },
    sizeMultiple: params.model.sizeMultiple,
    output: { activation: model.outputActivation, cloudChannel: 0 },
    threshold: params.model.threshold,
    ...(identity.licence ? { licence: identity.licence } : {}),
    ...(identity.credit ? { credit: identity.credit } : {}),
  };
  return parseModelCard(stringify(card));
}

/** The card as YAML with a header saying where it came from. */
export function modelCardYaml(card: ModelCard, source: string): string {
  return `# What the pipeline must know about this model; nothing of it is hard-coded elsewhere.\n# Written by \`cloudseg model import-keras\` from ${source} and params.yaml.\n${stringify(card, { lineWidth: 100 })}`;
}
