// One large scene through `cloudseg segment`'s path (segmentFile: ranged reads of the file, window
// by window, masks encoded and written), in a process of its own so its peak RSS is the scene's.
// Prints one `BENCH_RESULT {json}` line.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_DIR, loadConfig } from '../shared/config/index.js';
import type { EngineChoice } from '../shared/engines/index.js';
import { loadModelFromDir } from '../shared/model/load.js';
import { segmentFile } from '../shared/worker/segment-files.js';
import { shippedModelDir } from '../test/support/model.js';

const { values } = parseArgs({ options: { image: { type: 'string' }, engine: { type: 'string', default: 'auto' } } });
if (!values.image) throw new Error('--image is required');

export interface SceneResult {
  engine: string;
  width: number;
  height: number;
  status: string;
  error: string | null;
  cloudFraction: number | null;
  seconds: number;
  timingsMs: Record<string, number>;
  peakRssMb: number;
  memoryBudgetMb: number;
}

const config = loadConfig(process.env);
const modelDir = process.env.CLOUDSEG_MODEL_DIR ?? (await shippedModelDir().catch(() => DEFAULT_MODEL_DIR()));
const model = await loadModelFromDir(modelDir, { backend: values.engine as EngineChoice, batchTiles: 1 });
const out = await mkdtemp(join(tmpdir(), 'cloudseg-bench-scene-out-'));
try {
  const started = performance.now();
  const event = await segmentFile(model, values.image, { outDir: out, memoryBudgetBytes: config.worker.memoryBudgetBytes, batchTiles: 1, geotiff: true });
  const result: SceneResult = {
    engine: model.backend,
    width: event.width ?? 0,
    height: event.height ?? 0,
    status: event.status,
    error: event.error ? `${event.error.code}: ${event.error.message}` : null,
    cloudFraction: event.cloudFraction,
    seconds: (performance.now() - started) / 1000,
    timingsMs: event.timingsMs as Record<string, number>,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    memoryBudgetMb: config.worker.memoryBudgetBytes / 2 ** 20,
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
} finally {
  await model.dispose();
  await rm(out, { recursive: true, force: true });
}
