// Which engine a model gets: `auto` picks onnxruntime and says so; a model with a layer the
// exporter cannot handle falls back to TF.js under `auto` with a warning naming the layer, and fails
// with MODEL_EXPORT_UNSUPPORTED when onnxruntime is asked for by name. Both log lines are what an
// operator reads, so they are checked as logged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CloudsegError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { loadModelFromDir } from '../../shared/model/load.js';
import { shippedModelDir } from '../support/model.js';

let unexportable: string;

function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

before(async () => {
  // The shipped model with one Activation switched to gelu: TF.js runs it, the exporter does not.
  unexportable = await mkdtemp(join(tmpdir(), 'cloudseg-unexportable-'));
  await cp(await shippedModelDir(), unexportable, { recursive: true });
  const path = join(unexportable, 'model.json');
  const json = JSON.parse(await readFile(path, 'utf8')) as { modelTopology: { model_config: { config: { layers: { class_name: string; name: string; config: { activation?: string } }[] } } } };
  const layer = json.modelTopology.model_config.config.layers.find((l) => l.class_name === 'Activation')!;
  layer.config.activation = 'gelu';
  await writeFile(path, JSON.stringify(json));
});

after(() => rm(unexportable, { recursive: true, force: true }));

test('auto picks onnxruntime for the shipped model and logs the choice', async () => {
  const { logger, lines } = capturedLogger();
  const model = await loadModelFromDir(await shippedModelDir(), { backend: 'auto', batchTiles: 1, logger });
  try {
    assert.equal(model.backend, 'onnxruntime');
    assert.ok(model.parallelism >= 2, 'inference off the event loop: more than one call in flight');
    const selected = lines().find((l) => l.message === 'inference engine selected');
    assert.equal(selected?.engine, 'onnxruntime');
    assert.equal(selected?.requested, 'auto');
  } finally {
    model.dispose();
  }
});

test('an unexportable layer: auto falls back to TF.js with a warning, onnxruntime by name fails', async () => {
  const { logger, lines } = capturedLogger();
  const model = await loadModelFromDir(unexportable, { backend: 'auto', batchTiles: 1, logger });
  try {
    assert.notEqual(model.backend, 'onnxruntime');
    const warning = lines().find((l) => l.severity === 'WARNING');
    assert.ok(warning, 'the fallback is logged as a warning');
    assert.match(String((warning.err as { message?: string })?.message), /gelu/);
    assert.equal((warning.err as { code?: string })?.code, 'MODEL_EXPORT_UNSUPPORTED');
    // It still segments: the fallback is a working engine, not a stub.
    const probability = await model.predict(new Float32Array(16 * 16 * 4).fill(0.2), 1, 16, 16);
    assert.equal(probability.length, 256);
    assert.ok(probability.every((p) => p >= 0 && p <= 1));
  } finally {
    model.dispose();
  }
  await assert.rejects(loadModelFromDir(unexportable, { backend: 'onnxruntime', batchTiles: 1 }), (err: unknown) => {
    return err instanceof CloudsegError && err.code === 'MODEL_EXPORT_UNSUPPORTED' && /layer \S+ \(Activation\)/.test(err.message) && /gelu/.test(err.message);
  });
});
