// Model lifecycle while the pipeline runs: the worker serves the model a GTO stage points at in a
// real git + DVC registry; promoting a new version swaps it in for the next batches, which say so
// in their result events and mask metadata, with no failed item in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSampleManifest } from '../../infra/local/samples.js';
import { startLocalStack } from '../../infra/local/stack.js';
import { subscriptionPath } from '../../shared/cloud/pubsub.js';
import type { ResultEvent } from '../../shared/contracts/result-event.js';
import { createLogger } from '../../shared/logging.js';
import { addOutput, promote, pushOutputs } from '../../shared/registry/index.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { shippedModelDir } from '../support/model.js';
import { pullResults } from '../support/results.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=cloudseg-test', '-c', 'user.email=test@cloudseg.invalid', ...args], { cwd, encoding: 'utf8' }).trim();

/** Adds the model directory to the registry repo, pushes its objects, commits, and promotes it. */
async function release(repo: string, version: string): Promise<string> {
  await addOutput(repo, 'models/cloudseg');
  await pushOutputs(repo);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', `cloudseg ${version}`);
  await promote(repo, 'cloudseg', { stage: 'prod', version });
  return git(repo, 'rev-parse', 'HEAD');
}

test('promoting a new model version swaps it in for the next batches, with no failed item', { skip: EMULATOR_MISSING }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'cloudseg-hot-swap-'));
  const repo = join(root, 'registry');
  await mkdir(join(repo, '.dvc'), { recursive: true });
  git(repo, 'init', '-q');
  await writeFile(join(repo, '.dvc', 'config'), `[core]\n    remote = store\n['remote "store"']\n    url = ${join(root, 'store')}\n`);
  await cp(await shippedModelDir(), join(repo, 'models', 'cloudseg'), { recursive: true });
  const v1Commit = await release(repo, 'v1.0.0');

  const stack = await startLocalStack({
    rootDir: join(root, 'buckets'),
    logger: createLogger({ level: 'warn' }),
    resultSubscriptions: ['hot-swap-results'],
    env: {
      LOG_LEVEL: 'warn',
      CLOUDSEG_MODEL_REPO: repo,
      CLOUDSEG_MODEL_PATH: 'models/cloudseg',
      CLOUDSEG_MODEL_STAGE: 'prod',
      CLOUDSEG_MODEL_REFRESH_SECONDS: '1',
      CLOUDSEG_MODEL_CACHE_DIR: join(root, 'cache'),
    },
  });
  try {
    const [sample] = await readSampleManifest();
    const bytes = await readFile(sample!.imagePath);
    const results = subscriptionPath(stack.config.projectId, 'hot-swap-results');
    const segment = async (names: string[]): Promise<ResultEvent[]> => {
      for (const name of names) await stack.storage.bucket(stack.config.buckets.input).file(name).save(bytes, { resumable: false, contentType: 'image/tiff' });
      await stack.triggerFlush();
      return pullResults(stack.pubsub, results, names.length, 180_000);
    };

    const before = await segment(['a.tif', 'b.tif']);
    for (const e of before) {
      assert.equal(e.status, 'succeeded', JSON.stringify(e.error));
      assert.equal(e.model.rev, v1Commit);
      assert.equal(e.model.version, 'v1.0.0');
      assert.equal(e.model.tag, 'cloudseg#prod#1');
    }

    // v1.1.0: a stricter threshold, so a different md5 and visibly different masks.
    const cardPath = join(repo, 'models', 'cloudseg', 'model-card.yaml');
    await writeFile(cardPath, (await readFile(cardPath, 'utf8')).replace(/^threshold: .*$/m, 'threshold: 0.9'));
    const v2Commit = await release(repo, 'v1.1.0');
    await new Promise((r) => setTimeout(r, 1200)); // past the refresh interval

    const after = await segment(['c.tif']);
    const [c] = after;
    assert.equal(c!.status, 'succeeded', JSON.stringify(c!.error));
    assert.equal(c!.model.rev, v2Commit);
    assert.equal(c!.model.version, 'v1.1.0');
    assert.equal(c!.model.tag, 'cloudseg#prod#2');
    assert.notEqual(c!.model.md5, before[0]!.model.md5);
    assert.ok(c!.cloudFraction! < before[0]!.cloudFraction!, 'the new threshold is in effect');
    const [meta] = await stack.storage.bucket(stack.config.buckets.output).file(`${stack.config.buckets.input}/c.tif.mask.png`).getMetadata();
    assert.equal(meta.metadata?.['cloudseg-model-md5'], c!.model.md5);
    assert.equal(meta.metadata?.['cloudseg-model-tag'], 'cloudseg#prod#2');
  } finally {
    await stack.stop();
    await rm(root, { recursive: true, force: true });
  }
});
