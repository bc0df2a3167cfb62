// The seed project's params.yaml convention, `model: {n_classes, in_channels}`: what its training
// said the network takes and gives, checked against the exported graph at import. Other keys of the
// file (training settings) are the seed's business and are ignored.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CloudsegError } from '../../errors.js';

export interface SeedParams {
  /** Output channels (classes); 1 is a one-channel cloud mask. null: the file does not say. */
  nClasses: number | null;
  /** Input channels (bands). null: the file does not say. */
  inChannels: number | null;
  /** The file, for messages. */
  where: string;
}

const SeedSchema = z.object({
  model: z.object({
    n_classes: z.number().int().positive().optional(),
    in_channels: z.number().int().positive().optional(),
  }),
});

export function parseSeedParams(yamlText: string, where: string): SeedParams {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    throw new CloudsegError('CONFIG_INVALID', `${where} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const parsed = SeedSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new CloudsegError('CONFIG_INVALID', `${where} does not follow the model: {n_classes, in_channels} convention: ${problems.join('; ')}`);
  }
  const { n_classes: nClasses, in_channels: inChannels } = parsed.data.model;
  if (nClasses === undefined && inChannels === undefined) {
    throw new CloudsegError('CONFIG_INVALID', `${where} has a model section without n_classes or in_channels; nothing to check the graph against`);
  }
  return { nClasses: nClasses ?? null, inChannels: inChannels ?? null, where };
}

export async function readSeedParams(path: string): Promise<SeedParams> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CloudsegError('CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseSeedParams(text, path);
}
