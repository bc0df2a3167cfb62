// The model card (model-card.yaml beside the model files): parsed and validated once, so the
// pipeline learns bands, scaling, tiling and output from the card and never from code.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CloudsegError } from '../errors.js';
import type { ModelCard } from './types.js';

export const MODEL_CARD_FILE = 'model-card.yaml';

const positiveInt = z.number().int().positive();

const PresetSchema = z.strictObject({
  scale: z.number().finite().refine((v) => v !== 0, 'must not be 0'),
  offset: z.number().finite(),
  description: z.string().optional(),
});

const ModelCardSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"'),
    version: z.string().min(1),
    format: z.enum(['tfjs-layers', 'tfjs-graph', 'saved-model']),
    modelFile: z
      .string()
      .min(1)
      .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the model directory'),
    bands: z.array(z.string().min(1)).min(1),
    presets: z.record(z.string().min(1), PresetSchema).refine((p) => Object.keys(p).length > 0, 'needs at least one preset'),
    defaultPreset: z.strictObject({ integer: z.string().min(1), float: z.string().min(1) }),
    tile: z.strictObject({ size: positiveInt, overlap: z.number().int().nonnegative() }),
    sizeMultiple: positiveInt.default(1),
    output: z.strictObject({
      activation: z.enum(['sigmoid', 'softmax', 'linear']),
      cloudChannel: z.number().int().nonnegative().default(0),
    }),
    threshold: z.number().finite(),
    // Which SavedModel signature to run and which of its inputs/outputs are the tiles and the
    // segmentation (needed only when the signature has several).
    signature: z
      .strictObject({
        name: z.string().min(1).default('serving_default'),
        input: z.string().min(1).optional(),
        output: z.string().min(1).optional(),
      })
      .optional(),
    licence: z.string().optional(),
    credit: z.string().optional(),
  })
  .superRefine((card, ctx) => {
    for (const kind of ['integer', 'float'] as const) {
      if (!(card.defaultPreset[kind] in card.presets)) {
        ctx.addIssue({ code: 'custom', path: ['defaultPreset', kind], message: `names no preset (have: ${Object.keys(card.presets).join(', ')})` });
      }
    }
    if (card.tile.size % card.sizeMultiple !== 0) {
      ctx.addIssue({ code: 'custom', path: ['tile', 'size'], message: `must be a multiple of sizeMultiple (${card.sizeMultiple})` });
    }
    if (card.signature && card.format !== 'saved-model') {
      ctx.addIssue({ code: 'custom', path: ['signature'], message: 'only a saved-model has signatures' });
    }
    if (card.tile.overlap >= card.tile.size) {
      ctx.addIssue({ code: 'custom', path: ['tile', 'overlap'], message: 'must be smaller than tile.size' });
    }
    if (card.output.activation === 'sigmoid' && card.output.cloudChannel !== 0) {
      ctx.addIssue({ code: 'custom', path: ['output', 'cloudChannel'], message: 'a sigmoid output has one channel: use 0' });
    }
    // Every activation is turned into a probability (a linear head goes through a sigmoid).
    if (card.threshold <= 0 || card.threshold >= 1) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'a probability threshold must lie in (0, 1)' });
    }
  });

/** Parses and validates a model card; MODEL_CARD_INVALID names every field that is wrong. */
export function parseModelCard(yamlText: string): ModelCard {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    throw new CloudsegError('MODEL_CARD_INVALID', `model card is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ModelCardSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new CloudsegError('MODEL_CARD_INVALID', `model card invalid: ${problems.join('; ')}`, {
      details: { fields: parsed.error.issues.map((i) => i.path.join('.') || '(root)') },
    });
  }
  return parsed.data;
}

/** Reads and parses `<dir>/model-card.yaml`; a missing card is MODEL_NOT_FOUND. */
export async function readModelCard(dir: string): Promise<ModelCard> {
  const path = join(dir, MODEL_CARD_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CloudsegError(missing ? 'MODEL_NOT_FOUND' : 'MODEL_LOAD_FAILED', `cannot read model card ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseModelCard(text);
}
