// resolveScaling precedence and validation as a table, and toModelInput's arithmetic, nodata and
// band-count refusal.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CloudsegError } from '../../shared/errors.js';
import { resolveScaling, toModelInput, type ResolveScalingArgs, type ScalingSource } from '../../shared/imaging/scaling.js';
import type { Raster, RasterArray, RasterDtype, Scaling } from '../../shared/imaging/types.js';

const PRESETS = {
  'landsat8-l1': { scale: 2e-5, offset: -0.1 },
  'sentinel2-l1c': { scale: 1e-4, offset: 0 },
  'sentinel2-l2a': { scale: 1e-4, offset: 0 },
  reflectance: { scale: 1, offset: 0 },
};
const DEFAULTS = { integer: 'sentinel2-l1c', float: 'reflectance' };

function raster(opts: { dtype?: RasterDtype; bands?: number; fileScaling?: Scaling | null; noData?: number | null; data?: RasterArray } = {}): Raster {
  const bands = opts.bands ?? 4;
  return {
    width: 2,
    height: 1,
    bands,
    dtype: opts.dtype ?? 'uint16',
    data: opts.data ?? new Uint16Array(2 * bands),
    georef: null,
    fileScaling: opts.fileScaling ?? null,
    noData: opts.noData ?? null,
  };
}

const x4 = (v: number): number[] => [v, v, v, v];
const FILE = { scale: [2e-5, 2e-5, 2e-5, 3e-5], offset: x4(-0.1) };

interface Case {
  name: string;
  args: Partial<ResolveScalingArgs>;
  source: ScalingSource;
  preset: string | null;
  scaling: Scaling;
}

const CASES: Case[] = [
  { name: 'nothing said, integer raster -> integer default', args: {}, source: 'default', preset: 'sentinel2-l1c', scaling: { scale: x4(1e-4), offset: x4(0) } },
  {
    name: 'nothing said, float raster -> float default',
    args: { raster: raster({ dtype: 'float32', data: new Float32Array(8) }) },
    source: 'default',
    preset: 'reflectance',
    scaling: { scale: x4(1), offset: x4(0) },
  },
  { name: 'file GDAL scale beats the default', args: { raster: raster({ fileScaling: FILE }) }, source: 'file', preset: null, scaling: FILE },
  {
    name: 'object metadata preset beats the file',
    args: { raster: raster({ fileScaling: FILE }), objectMetadata: { 'cloudseg-preset': 'sentinel2-l2a' } },
    source: 'object-metadata',
    preset: 'sentinel2-l2a',
    scaling: { scale: x4(1e-4), offset: x4(0) },
  },
  {
    name: 'object metadata scale scalar broadcasts, offset defaults to 0',
    args: { objectMetadata: { 'cloudseg-scale': '2e-5' } },
    source: 'object-metadata',
    preset: null,
    scaling: { scale: x4(2e-5), offset: x4(0) },
  },
  {
    name: 'object metadata comma lists per band',
    args: { objectMetadata: { 'cloudseg-scale': '1e-4, 1e-4,2e-4 ,1e-4', 'cloudseg-offset': '-0.1' } },
    source: 'object-metadata',
    preset: null,
    scaling: { scale: [1e-4, 1e-4, 2e-4, 1e-4], offset: x4(-0.1) },
  },
  {
    name: 'object metadata preset with an explicit offset replacing the preset offset',
    args: { objectMetadata: { 'cloudseg-preset': 'landsat8-l1', 'cloudseg-offset': '0' } },
    source: 'object-metadata',
    preset: 'landsat8-l1',
    scaling: { scale: x4(2e-5), offset: x4(0) },
  },
  {
    name: 'unrelated object metadata is ignored',
    args: { objectMetadata: { owner: 'someone' }, raster: raster({ fileScaling: FILE }) },
    source: 'file',
    preset: null,
    scaling: FILE,
  },
  {
    name: 'CLI preset beats object metadata and file',
    args: { override: { preset: 'landsat8-l1' }, objectMetadata: { 'cloudseg-preset': 'sentinel2-l2a' }, raster: raster({ fileScaling: FILE }) },
    source: 'override',
    preset: 'landsat8-l1',
    scaling: { scale: x4(2e-5), offset: x4(-0.1) },
  },
  {
    name: 'CLI scale array per band',
    args: { override: { scale: [1, 2, 3, 4], offset: 0.5 }, objectMetadata: { 'cloudseg-scale': '9' } },
    source: 'override',
    preset: null,
    scaling: { scale: [1, 2, 3, 4], offset: x4(0.5) },
  },
  {
    name: 'an empty override object counts as no override',
    args: { override: {}, objectMetadata: { 'cloudseg-preset': 'reflectance' } },
    source: 'object-metadata',
    preset: 'reflectance',
    scaling: { scale: x4(1), offset: x4(0) },
  },
  {
    name: 'null override and metadata fall through',
    args: { override: null, objectMetadata: null },
    source: 'default',
    preset: 'sentinel2-l1c',
    scaling: { scale: x4(1e-4), offset: x4(0) },
  },
];

function resolve(args: Partial<ResolveScalingArgs>): ReturnType<typeof resolveScaling> {
  return resolveScaling({ bands: 4, raster: raster(), presets: PRESETS, defaults: DEFAULTS, ...args });
}

describe('resolveScaling precedence', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const got = resolve(c.args);
      assert.equal(got.source, c.source);
      assert.equal(got.preset, c.preset);
      assert.deepEqual(got.scaling, c.scaling);
    });
  }
});

describe('resolveScaling refusals (INVALID_SCALING)', () => {
  const BAD: [string, Partial<ResolveScalingArgs>, RegExp][] = [
    ['unknown CLI preset', { override: { preset: 'landsat9' } }, /unknown scaling preset "landsat9".*known: landsat8-l1/],
    ['unknown metadata preset', { objectMetadata: { 'cloudseg-preset': 'nope' } }, /unknown scaling preset "nope"/],
    ['metadata scale not a number', { objectMetadata: { 'cloudseg-scale': 'abc' } }, /cloudseg-scale must be a number/],
    ['metadata scale with an empty item', { objectMetadata: { 'cloudseg-scale': '1e-4,,1e-4' } }, /comma-separated/],
    ['metadata list of the wrong length', { objectMetadata: { 'cloudseg-offset': '0,0,0' } }, /3 values; give 1 or one per band \(4\)/],
    ['CLI scale NaN', { override: { scale: Number.NaN } }, /not a finite number/],
    ['CLI scale zero', { override: { scale: 0 } }, /scale of band 0 is 0/],
    ['default preset missing from the card', { presets: {} }, /unknown scaling preset "sentinel2-l1c"/],
    ['prototype key is not a preset', { override: { preset: 'constructor' } }, /unknown scaling preset "constructor"/],
  ];
  for (const [name, args, message] of BAD) {
    it(name, () => {
      assert.throws(
        () => resolve(args),
        (err: unknown) => err instanceof CloudsegError && err.code === 'INVALID_SCALING' && !err.retryable && message.test(err.message),
      );
    });
  }
});

describe('toModelInput', () => {
  it('applies value * scale + offset per band, HWC', () => {
    const r = raster({ bands: 2, data: Uint16Array.from([10000, 20000, 30000, 40000]) });
    const out = toModelInput(r, { scale: [1e-4, 2e-5], offset: [0, -0.1] }, 2);
    assert.ok(out instanceof Float32Array);
    const expected = [1, 20000 * 2e-5 - 0.1, 3, 40000 * 2e-5 - 0.1];
    out.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `sample ${i}: ${v} vs ${expected[i]}`));
  });

  it('broadcasts single-value scaling', () => {
    const r = raster({ bands: 2, data: Uint16Array.from([1, 2, 3, 4]) });
    assert.deepEqual(Array.from(toModelInput(r, { scale: [2], offset: [1] }, 2)), [3, 5, 7, 9]);
  });

  it('turns nodata samples into 0 (not into offset)', () => {
    const r = raster({ bands: 2, noData: 0, data: Uint16Array.from([0, 50000, 10000, 0]) });
    const out = toModelInput(r, { scale: [2e-5], offset: [-0.1] }, 2);
    assert.equal(out[0], 0);
    assert.equal(out[3], 0);
    assert.ok(Math.abs(out[1]! - 0.9) < 1e-6);
  });

  it('turns NaN (nodata NaN or not) and Infinity into 0', () => {
    const r = raster({ bands: 1, dtype: 'float32', noData: Number.NaN, data: Float32Array.from([Number.NaN, 0.25]) });
    assert.deepEqual(Array.from(toModelInput(r, { scale: [1], offset: [0] }, 1)), [0, 0.25]);
    const r2 = raster({ bands: 1, dtype: 'float32', data: Float32Array.from([Number.POSITIVE_INFINITY, Number.NaN]) });
    assert.deepEqual(Array.from(toModelInput(r2, { scale: [1], offset: [0] }, 1)), [0, 0]);
  });

  it('BAND_MISMATCH with the band names when given', () => {
    const r = raster({ bands: 3, data: new Uint16Array(6) });
    assert.throws(
      () => toModelInput(r, { scale: [1], offset: [0] }, 4, ['blue', 'green', 'red', 'nir']),
      (err: unknown) =>
        err instanceof CloudsegError &&
        err.code === 'BAND_MISMATCH' &&
        !err.retryable &&
        err.message === 'image has 3 bands, model expects 4 (blue, green, red, nir)',
    );
    assert.throws(() => toModelInput(r, { scale: [1], offset: [0] }, 4), /^CloudsegError: image has 3 bands, model expects 4$/);
  });
});
