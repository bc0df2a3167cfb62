// Inputs built to hurt: a decompression bomb, a 200-band header, an all-NaN scene. Each must end in
// a typed error quickly and in bounded memory, before the pixels that would hurt are produced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { CloudsegError } from '../../shared/errors.js';
import { decodeImage } from '../../shared/imaging/decode.js';
import { writeGeoTiff } from '../../shared/imaging/geotiff-write.js';
import { smallTiff, withClaimedSize, withStrip } from '../support/tiff-surgery.js';
import { hasValidSample } from '../../shared/imaging/scaling.js';

test('a deflate bomb (64x64x4 header, a strip inflating to 256 MiB) is CORRUPT_IMAGE, fast and small', async () => {
  const small = smallTiff();
  const bomb = withStrip(small, deflateSync(Buffer.alloc(256 * 2 ** 20)));
  assert.ok(bomb.length < 2 ** 20, `the bomb is ${bomb.length} bytes`);
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  await assert.rejects(decodeImage(bomb, { name: 'bomb.tif', maxPixels: 1e6 }), (err: unknown) => err instanceof CloudsegError && err.code === 'CORRUPT_IMAGE');
  assert.ok(performance.now() - started < 2000, 'refused without inflating it all');
  assert.ok(process.memoryUsage().rss - rssBefore < 128 * 2 ** 20, 'and without holding it');
  // The same file with its real strip still decodes: the bound is the header's promise, not less.
  const raster = await decodeImage(withStrip(small, deflateSync(Buffer.alloc(64 * 64 * 4 * 2))), { name: 'ok.tif', maxPixels: 1e6 });
  assert.equal(raster.data.length, 64 * 64 * 4);
});

test('a 200-band header is BAND_MISMATCH before any pixel is decoded', async () => {
  const bands = 200;
  const tiff = writeGeoTiff({ width: 300, height: 300, bands, dtype: 'uint16', data: new Uint16Array(300 * 300 * bands), compression: 'deflate' });
  const started = performance.now();
  await assert.rejects(decodeImage(tiff, { name: 'many.tif', maxPixels: 1e6, expectedBands: 4 }), (err: unknown) => {
    return err instanceof CloudsegError && err.code === 'BAND_MISMATCH' && /200 bands/.test(err.message);
  });
  assert.ok(performance.now() - started < 500, 'from the header');
});

test('an all-NaN (or all-nodata) scene has no valid sample; one real value is enough', () => {
  const raster = { width: 2, height: 2, bands: 1, dtype: 'float32' as const, data: new Float32Array([NaN, NaN, Infinity, NaN]), georef: null, fileScaling: null, noData: null };
  assert.equal(hasValidSample(raster), false);
  assert.equal(hasValidSample({ ...raster, data: new Float32Array([NaN, 0.2, NaN, NaN]) }), true);
  assert.equal(hasValidSample({ ...raster, dtype: 'uint16', data: new Uint16Array([0, 0, 0, 0]), noData: 0 }), false);
});

test('a header claiming 100000 x 100000 is IMAGE_TOO_LARGE from the header', async () => {
  await assert.rejects(decodeImage(withClaimedSize(100_000, 100_000), { name: 'huge.tif', maxPixels: 4e7 }), (err: unknown) => err instanceof CloudsegError && err.code === 'IMAGE_TOO_LARGE');
});
