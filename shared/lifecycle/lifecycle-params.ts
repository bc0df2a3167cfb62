// params.yaml, the parameters of the model-lifecycle stages (import, evaluate) that DVC tracks:
// what every imported model card says (threshold, tiling, scaling presets) and the model variants.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CloudsegError } from '../errors.js';

const PresetSchema = z.strictObject({
  scale: z.number().finite().refine((v) => v !== 0, 'must not be 0'),
  offset: z.number().finite(),
  description: z.string().optional(),
});

const VariantSchema = z.strictObject({
  /** The upstream Keras HDF5 file, relative to the project root. */
  hdf5: z.string().min(1),
  /** The model directory the import writes, relative to the project root. */
  out: z.string().min(1),
  /** The DVC-tracked directory in the registry (this repo) that the register stage adds and pushes. */
  registry: z.string().min(1),
  /** The model's README (credit, files, measured numbers), copied into the imported directory. */
  readme: z.string().min(1),
  name: z.string().min(1),
  version: z.string().min(1),
  bands: z.array(z.string().min(1)).min(1),
  licence: z.string().optional(),
  credit: z.string().optional(),
});

const ParamsSchema = z.strictObject({
  model: z.strictObject({
    threshold: z.number().gt(0).lt(1),
    tile: z.number().int().positive(),
    overlap: z.number().int().nonnegative(),
    sizeMultiple: z.number().int().positive().default(1),
  }),
  presets: z.record(z.string().min(1), PresetSchema),
  defaultPreset: z.strictObject({ integer: z.string().min(1), float: z.string().min(1) }),
  variants: z.record(z.string().min(1), VariantSchema).default({}),
  evaluate: z
    .strictObject({
      manifest: z.string().min(1),
      out: z.string().min(1),
      /** The variants the evaluate stage runs, by variants key. */
      variants: z.array(z.string().min(1)).default([]),
    })
    .optional(),
});

export type LifecycleParams = z.infer<typeof ParamsSchema>;
export type ModelVariant = z.infer<typeof VariantSchema>;

export function parseLifecycleParams(yamlText: string, where = 'params.yaml'): LifecycleParams {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    throw new CloudsegError('CONFIG_INVALID', `${where} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ParamsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new CloudsegError('CONFIG_INVALID', `${where} invalid: ${problems.join('; ')}`);
  }
  const params = parsed.data;
  for (const kind of ['integer', 'float'] as const) {
    if (!Object.hasOwn(params.presets, params.defaultPreset[kind])) {
      throw new CloudsegError('CONFIG_INVALID', `${where} invalid: defaultPreset.${kind} names no preset (have: ${Object.keys(params.presets).join(', ')})`);
    }
  }
  for (const name of params.evaluate?.variants ?? []) {
    if (!Object.hasOwn(params.variants, name)) throw new CloudsegError('CONFIG_INVALID', `${where} invalid: evaluate.variants names unknown variant ${name}`);
  }
  return params;
}

export async function readLifecycleParams(path: string): Promise<LifecycleParams> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CloudsegError('CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseLifecycleParams(text, path);
}
