// A SavedModel goes through the pipeline like the TF.js models: registered in a git + DVC registry,
// resolved by GTO stage, pulled into the md5-checked cache and hot-swapped in by the worker's model
// source when a new version is promoted; and `cloudseg segment --model DIR --engine wasm` with a
// SavedModel card writes the masks the TF.js Layers model writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { readSampleManifest } from '../../infra/local/samples.js';
import { createStorage } from '../../shared/cloud/storage.js';
import { loadConfig } from '../../shared/config/index.js';
import { projectRoot } from '../../shared/config/project-root.js';
import { ResultEventSchema } from '../../shared/contracts/result-event.js';
import { createLogger } from '../../shared/logging.js';
import { readNpy } from '../../shared/lifecycle/npz.js';
import { addOutput, promote, pushOutputs } from '../../shared/registry/index.js';
import { modelSourceFromConfig } from '../../shared/worker/model-source-from-config.js';
import { fixturesMissing } from '../support/fixtures.js';
import { registeredModelDir } from '../support/model.js';
import { keras3Fixture, savedModelDirFor } from '../support/saved-models.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING SavedModel pipeline tests: ${MISSING}`);

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=cloudseg-test', '-c', 'user.email=test@cloudseg.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim();

async function release(repo: string, version: string): Promise<string> {
  await addOutput(repo, 'models/cloudseg');
  await pushOutputs(repo);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', `cloudseg ${version}`);
  await promote(repo, 'cloudseg', { stage: 'prod', version });
  return git(repo, 'rev-parse', 'HEAD');
}

test('a SavedModel is registered, resolved by stage, pulled and hot-swapped in like a TF.js model', { skip: MISSING }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'cloudseg-sm-registry-'));
  const savedDir = await savedModelDirFor('models/landsatbiomeRGBISWIR7');
  const repo = join(root, 'registry');
  try {
    await mkdir(join(repo, '.dvc'), { recursive: true });
    git(repo, 'init', '-q');
    await writeFile(join(repo, '.dvc', 'config'), `[core]\n    remote = store\n['remote "store"']\n    url = ${join(root, 'store')}\n`);
    await cp(await registeredModelDir('models/landsatbiomeRGBISWIR7'), join(repo, 'models', 'cloudseg'), { recursive: true });
    await release(repo, 'v1.0.0');

    const config = loadConfig({
      CLOUDSEG_MODEL_REPO: repo,
      CLOUDSEG_MODEL_PATH: 'models/cloudseg',
      CLOUDSEG_MODEL_STAGE: 'prod',
      CLOUDSEG_MODEL_REFRESH_SECONDS: '0',
      CLOUDSEG_MODEL_CACHE_DIR: join(root, 'cache'),
      CLOUDSEG_INFERENCE_BACKEND: 'wasm',
      CLOUDSEG_INFER_BATCH_TILES: '1',
    });
    const source = modelSourceFromConfig(config, createLogger({ level: 'warn' }), { storage: createStorage(config.projectId) });
    try {
      const x = readNpy(await readFile(keras3Fixture('rgbiswir7-golden-input-random64.npy')));
      const y = readNpy(await readFile(keras3Fixture('rgbiswir7-golden-output-random64.npy')));
      const v1 = await source.acquire();
      assert.equal(v1.model.card.format, 'tfjs-layers');
      const p1 = await v1.model.predict(x.data as Float32Array, 1, 64, 64);
      v1.release();

      // v2: the same network as a Keras 3 SavedModel.
      await rm(join(repo, 'models', 'cloudseg'), { recursive: true });
      await cp(savedDir, join(repo, 'models', 'cloudseg'), { recursive: true });
      const v2Commit = await release(repo, 'v2.0.0');
      const v2 = await source.acquire();
      try {
        assert.equal(v2.model.card.format, 'saved-model', 'the promoted SavedModel was swapped in');
        assert.equal(v2.model.identity.version, 'v2.0.0');
        assert.equal(v2.model.identity.rev, v2Commit);
        assert.equal(v2.model.identity.tag, 'cloudseg#prod#2');
        assert.notEqual(v2.model.identity.md5, v1.model.identity.md5);
        const p2 = await v2.model.predict(x.data as Float32Array, 1, 64, 64);
        let vsTensorflow = 0;
        let vsLayers = 0;
        for (let i = 0; i < p2.length; i++) {
          vsTensorflow = Math.max(vsTensorflow, Math.abs(p2[i]! - y.data[i]!));
          vsLayers = Math.max(vsLayers, Math.abs(p2[i]! - p1[i]!));
        }
        assert.ok(vsTensorflow <= 1e-5, `pulled SavedModel vs TensorFlow: ${vsTensorflow}`);
        assert.ok(vsLayers <= 1e-5, `pulled SavedModel vs the Layers model it replaced: ${vsLayers}`);
      } finally {
        v2.release();
      }
    } finally {
      await source.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(savedDir, { recursive: true, force: true });
  }
});

const run = promisify(execFile);

async function cloudsegSegment(image: string, out: string, modelDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = join(projectRoot(), 'functions', 'cli.ts');
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', cli, 'segment', image, '--out', out, '--model', modelDir, '--engine', 'wasm'], {
      cwd: projectRoot(),
      maxBuffer: 1 << 24,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('cloudseg segment --model DIR --engine wasm with a SavedModel card writes the Layers model\'s mask', { skip: MISSING }, async () => {
  const savedDir = await savedModelDirFor('models/landsatbiomeRGBI6');
  const outSaved = await mkdtemp(join(tmpdir(), 'cloudseg-sm-cli-'));
  const outLayers = await mkdtemp(join(tmpdir(), 'cloudseg-sm-cli-'));
  try {
    const [sample] = await readSampleManifest();
    const saved = await cloudsegSegment(sample!.imagePath, outSaved, savedDir);
    assert.equal(saved.code, 0, saved.stderr);
    const layers = await cloudsegSegment(sample!.imagePath, outLayers, await registeredModelDir('models/landsatbiomeRGBI6'));
    assert.equal(layers.code, 0, layers.stderr);
    const [eSaved] = saved.stdout.trim().split('\n').map((l) => ResultEventSchema.parse(JSON.parse(l)));
    const [eLayers] = layers.stdout.trim().split('\n').map((l) => ResultEventSchema.parse(JSON.parse(l)));
    assert.equal(eSaved!.status, 'succeeded');
    assert.equal(eSaved!.cloudFraction, eLayers!.cloudFraction);
    assert.ok(eSaved!.output && eLayers!.output);
    const pixels = async (path: string) => (await sharp(path).raw().toBuffer({ resolveWithObject: true }));
    const a = await pixels(eSaved!.output.name);
    const b = await pixels(eLayers!.output.name);
    assert.equal(basename(eSaved!.output.name), basename(eLayers!.output.name));
    assert.deepEqual([a.info.width, a.info.height], [b.info.width, b.info.height]);
    assert.ok(a.data.equals(b.data), 'the SavedModel mask equals the Layers model mask pixel for pixel');
    assert.ok(a.data.some((v) => v > 0) || b.data.every((v) => v === 0));
  } finally {
    await Promise.all([outSaved, outLayers, savedDir].map((d) => rm(d, { recursive: true, force: true })));
  }
});
