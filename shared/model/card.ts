// The model card (model-card.yaml beside the model files): parsed and validated once, so the
// pipeline learns bands, scaling, tiling and output from the card and never from code.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CloudsegError } from '../errors.js';
import { CLASS_KINDS, CLASS_MASK_NODATA, KIND_COLOURS, type MaskLegend, CLOUD_LEGEND } from '../imaging/mask-values.js';
import { MODEL_FORMATS, TENSOR_LAYOUTS, type ModelCard } from './types.js';

export const MODEL_CARD_FILE = 'model-card.yaml';

const positiveInt = z.number().int().positive();

const PresetSchema = z.strictObject({
  scale: z.number().finite().refine((v) => v !== 0, 'must not be 0'),
  offset: z.number().finite(),
  description: z.string().optional(),
});

const ClassSchema = z.strictObject({
  // 255 is the class mask's nodata.
  value: z.number().int().min(0).max(CLASS_MASK_NODATA - 1),
  name: z.string().min(1),
  kind: z.enum(CLASS_KINDS),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'a colour is #rrggbb')
    .optional(),
});

const ModelCardSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"'),
    version: z.string().min(1),
    format: z.enum(MODEL_FORMATS),
    modelFile: z
      .string()
      .min(1)
      .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the model directory'),
    bands: z.array(z.string().min(1)).min(1),
    presets: z.record(z.string().min(1), PresetSchema).refine((p) => Object.keys(p).length > 0, 'needs at least one preset'),
    defaultPreset: z.strictObject({ integer: z.string().min(1), float: z.string().min(1) }),
    tile: z.strictObject({ size: positiveInt, overlap: z.number().int().nonnegative() }),
    sizeMultiple: positiveInt.default(1),
    input: z.strictObject({ layout: z.enum(TENSOR_LAYOUTS).optional() }).optional(),
    output: z.strictObject({
      activation: z.enum(['sigmoid', 'softmax', 'linear']),
      cloudChannel: z.number().int().nonnegative().default(0),
    }),
    // A class model takes the most probable class and needs no threshold.
    threshold: z.number().finite().optional(),
    classes: z.array(ClassSchema).min(2, 'a class model has at least two classes').optional(),
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
    if (card.input && card.format !== 'onnx') {
      ctx.addIssue({ code: 'custom', path: ['input'], message: 'only an onnx model states its input layout (the others are NHWC)' });
    }
    if (card.classes) {
      checkClasses(card.classes, ctx);
      return;
    }
    if (card.output.activation === 'sigmoid' && card.output.cloudChannel !== 0) {
      ctx.addIssue({ code: 'custom', path: ['output', 'cloudChannel'], message: 'a sigmoid output has one channel: use 0' });
    }
    // Every activation is turned into a probability (a linear head goes through a sigmoid).
    if (card.threshold === undefined) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'a cloud mask model needs a probability threshold (or list classes)' });
    } else if (card.threshold <= 0 || card.threshold >= 1) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'a probability threshold must lie in (0, 1)' });
    }
  });

function checkClasses(classes: z.infer<typeof ClassSchema>[], ctx: z.RefinementCtx): void {
  const seenValues = new Map<number, number>();
  const seenNames = new Map<string, number>();
  classes.forEach((c, i) => {
    const sameValue = seenValues.get(c.value);
    if (sameValue !== undefined) ctx.addIssue({ code: 'custom', path: ['classes', i, 'value'], message: `value ${c.value} is also class ${sameValue}'s (${classes[sameValue]!.name})` });
    const sameName = seenNames.get(c.name);
    if (sameName !== undefined) ctx.addIssue({ code: 'custom', path: ['classes', i, 'name'], message: `name ${c.name} is also class ${sameName}'s` });
    seenValues.set(c.value, i);
    seenNames.set(c.name, i);
  });
}

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
  const card = parsed.data;
  // A cloud mask card always has a threshold (checked above); the type says so.
  return { ...card, threshold: card.threshold ?? Number.NaN } as ModelCard;
}

/** How the masks of this card's model read: the cloud mask (no classes) or its classes. */
export function cardLegend(card: Pick<ModelCard, 'classes'>): MaskLegend {
  if (!card.classes) return CLOUD_LEGEND;
  return {
    kind: 'classes',
    nodata: CLASS_MASK_NODATA,
    classes: card.classes.map((c) => ({ value: c.value, name: c.name, kind: c.kind, rgb: c.color ? hexColour(c.color) : KIND_COLOURS[c.kind] })),
  };
}

/** Values per pixel the model hands back: one per class, or the one cloud probability. */
export function outputChannels(card: Pick<ModelCard, 'classes'>): number {
  return card.classes?.length ?? 1;
}

function hexColour(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
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
