// The cloudseg CLI as a user runs it: a real process, real files, its stdout and exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readSampleManifest } from '../../infra/local/samples.js';
import { projectRoot } from '../../shared/config/project-root.js';
import { ResultEventSchema } from '../../shared/contracts/result-event.js';
import { decodeImage } from '../../shared/imaging/decode.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const run = promisify(execFile);
const CLI = join(projectRoot(), 'functions', 'cli.ts');

async function cloudseg(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: projectRoot(), maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('segment writes masks and prints one result event per image; a bad image fails alone', async () => {
  const out = await mkdtemp(join(tmpdir(), 'cloudseg-cli-'));
  try {
    const samples = await readSampleManifest();
    const bad = join(out, 'broken.tif');
    await writeFile(bad, Buffer.from('II*\0 definitely not a whole tiff'));
    const georeferenced = samples.find((s) => s.georeferenced)!;
    const plain = samples.find((s) => !s.georeferenced)!;
    const { code, stdout } = await cloudseg(['segment', georeferenced.imagePath, bad, plain.imagePath, '--out', out]);
    assert.equal(code, 1, 'exit code says something failed');
    const events = stdout.trim().split('\n').map((l) => ResultEventSchema.parse(JSON.parse(l)));
    assert.deepEqual(events.map((e) => e.status), ['succeeded', 'failed', 'succeeded']);
    assert.equal(events[1]!.error?.code, 'CORRUPT_IMAGE');
    assert.ok(events[0]!.output?.georeferenced, 'a georeferenced input also gets a .mask.tif');
    assert.equal(events[2]!.output?.georeferenced, null);
    for (const e of [events[0]!, events[2]!]) assert.ok((await stat(e.output!.name)).size > 0);
    assert.ok((await stat(join(out, `${georeferenced.id}.tif.mask.tif`))).size > 0);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('segment honours --preset over the file\'s own scaling', async () => {
  const out = await mkdtemp(join(tmpdir(), 'cloudseg-cli-'));
  try {
    const [landsat] = await readSampleManifest();
    const asIs = await cloudseg(['segment', landsat!.imagePath, '--out', out]);
    const wrong = await cloudseg(['segment', landsat!.imagePath, '--out', out, '--preset', 'reflectance']);
    const fraction = (s: string) => ResultEventSchema.parse(JSON.parse(s)).cloudFraction!;
    // Raw DNs (~10^4) read as reflectance are far brighter than anything real: all "cloud".
    assert.ok(fraction(wrong.stdout) > fraction(asIs.stdout) + 0.3, `${fraction(wrong.stdout)} vs ${fraction(asIs.stdout)}`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('stack turns single-band rasters into one multi-band GeoTIFF with the first band\'s georeference', { skip: fixturesMissing() }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'cloudseg-cli-'));
  try {
    const bands = ['B02', 'B03', 'B04', 'B08'].map((b) => fixture('oncloudn', 'chip_id_2', `${b}.tif`));
    const target = join(out, 'chip2.tif');
    const { code } = await cloudseg(['stack', ...bands, '-o', target, '--scale', '0.0001']);
    assert.equal(code, 0);
    const stacked = await decodeImage(new Uint8Array(await readFile(target)), { maxPixels: 1e8 });
    const first = await decodeImage(new Uint8Array(await readFile(bands[0]!)), { maxPixels: 1e8 });
    const last = await decodeImage(new Uint8Array(await readFile(bands[3]!)), { maxPixels: 1e8 });
    assert.equal(stacked.bands, 4);
    assert.deepEqual(stacked.georef, first.georef);
    assert.deepEqual(stacked.fileScaling?.scale, [1e-4, 1e-4, 1e-4, 1e-4]);
    for (const i of [0, 1000, 262143]) {
      assert.equal(stacked.data[i * 4], first.data[i]);
      assert.equal(stacked.data[i * 4 + 3], last.data[i]);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('user errors are one clear line and exit 2, never a stack trace', async () => {
  const missingOption = await cloudseg(['segment', 'x.tif']);
  assert.equal(missingOption.code, 2);
  assert.match(missingOption.stderr, /required option '--out <dir>' not specified/);
  const wrongUse = await cloudseg(['eval', '--out', join(tmpdir(), 'cloudseg-cli-eval-unused')]);
  assert.equal(wrongUse.code, 2);
  assert.equal(wrongUse.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn')).length, 1, wrongUse.stderr);
  assert.match(wrongUse.stderr, /^cloudseg: CONFIG_INVALID: /m);
  assert.doesNotMatch(wrongUse.stderr + missingOption.stderr, /\n\s+at /, 'no stack frames');
  assert.equal((await cloudseg(['--help'])).code, 0);
});
