// The bundled sample scenes (samples/manifest.json): real scenes with ground truth, used by the
// demo, the benchmark and the end-to-end tests.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../../shared/config/index.js';

const ManifestSchema = z.object({
  scenes: z.array(
    z.looseObject({
      id: z.string(),
      scene: z.string(),
      truth: z.string().optional(),
      georeferenced: z.boolean().default(false),
      sensor: z.string().optional(),
      preset: z.string().optional(),
    }),
  ),
});

export interface Sample {
  id: string;
  imagePath: string;
  truthPath: string | null;
  sensor: string | null;
  preset: string | null;
  georeferenced: boolean;
}

export async function readSampleManifest(dir = join(projectRoot(), 'samples')): Promise<Sample[]> {
  const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  return manifest.scenes.map((s) => ({
    id: s.id,
    imagePath: join(dir, s.scene),
    truthPath: s.truth ? join(dir, s.truth) : null,
    sensor: s.sensor ?? null,
    preset: s.preset ?? null,
    georeferenced: s.georeferenced,
  }));
}
