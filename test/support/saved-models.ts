// SavedModel model directories as a registry would hold them: the registered TF.js model's card
// with `format: saved-model`, beside a copy of a fixture SavedModel (Keras 3 export of the same U-Net).
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { MODEL_CARD_FILE } from '../../shared/model/card.js';
import { fixture } from './fixtures.js';
import { registeredModelDir } from './model.js';

export const KERAS3_MODELS = {
  'models/landsatbiomeRGBI6': 'landsatbiomeRGBI6',
  'models/landsatbiomeRGBISWIR7': 'landsatbiomeRGBISWIR7',
} as const;

export const keras3Fixture = (...parts: string[]): string => fixture('savedmodels', 'keras3-ipluv', ...parts);

/** A fresh model directory: card of the registered `layersPath` model, SavedModel under `saved_model/`. */
export async function savedModelDirFor(layersPath: keyof typeof KERAS3_MODELS, cardChanges: Record<string, unknown> = {}): Promise<string> {
  const layersDir = await registeredModelDir(layersPath);
  const card = parse(await readFile(join(layersDir, MODEL_CARD_FILE), 'utf8')) as Record<string, unknown>;
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-savedmodel-'));
  await cp(keras3Fixture(KERAS3_MODELS[layersPath]), join(dir, 'saved_model'), { recursive: true });
  await writeFile(join(dir, MODEL_CARD_FILE), stringify({ ...card, format: 'saved-model', modelFile: 'saved_model', ...cardChanges }));
  return dir;
}

/** TensorFlow's golden input/output pairs for the two keras3 SavedModels (see the fixture README). */
export const GOLDEN = [
  { path: 'models/landsatbiomeRGBI6', input: 'golden-input-oncloudn-chip1.npy', output: 'golden-output-oncloudn-chip1.npy' },
  { path: 'models/landsatbiomeRGBISWIR7', input: 'rgbiswir7-golden-input-random64.npy', output: 'rgbiswir7-golden-output-random64.npy' },
] as const;
