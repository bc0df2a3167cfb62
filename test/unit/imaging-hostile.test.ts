// Inputs built to hurt: a decompression bomb, a 200-band header, an all-NaN scene. Each must end in
// a typed error quickly and in bounded memory, before the pixels that would hurt are produced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { CloudsegError } from '../../shared/errors.js';
import { decodeImage } from '../../shared/imaging/decode.js';
import { writeGeoTiff } from '../../shared/imaging/geotiff-write.js';
import { hasValidSample } from '../../shared/imaging/scaling.js';

const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 16: 8 };

/**
 * A valid one-strip TIFF whose strip is replaced by `strip` (offsets after it shifted): the header
 * still promises a small image while the strip inflates to whatever `strip` holds.
 */
function withStrip(tiff: Uint8Array, strip: Uint8Array): Uint8Array {
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const ifd = view.getUint32(4, true);
  const count = view.getUint16(ifd, true);
  const entry = (i: number) => ifd + 2 + i * 12;
  const find = (tag: number) => [...Array(count).keys()].map(entry).find((at) => view.getUint16(at, true) === tag)!;
  const oldLength = view.getUint32(find(279) + 8, true);
  assert.equal(view.getUint32(find(273) + 8, true), 8, 'one strip right after the header');
  const delta = strip.length - oldLength;
  const out = new Uint8Array(tiff.length + delta);
  out.set(tiff.subarray(0, 8));
  out.set(strip, 8);
  out.set(tiff.subarray(8 + oldLength), 8 + strip.length);
  const o = new DataView(out.buffer);
  o.setUint32(4, ifd + delta, true);
  const newIfd = ifd + delta;
  for (let i = 0; i < count; i++) {
    const at = newIfd + 2 + i * 12;
    const type = o.getUint16(at + 2, true);
    const n = o.getUint32(at + 4, true);
    if (o.getUint16(at, true) === 279) o.setUint32(at + 8, strip.length, true);
    else if ((TYPE_BYTES[type] ?? 1) * n > 4) o.setUint32(at + 8, o.getUint32(at + 8, true) + delta, true); // out-of-line value moved
  }
  return out;
}

test('a deflate bomb (64x64x4 header, a strip inflating to 256 MiB) is CORRUPT_IMAGE, fast and small', async () => {
  const small = writeGeoTiff({ width: 64, height: 64, bands: 4, dtype: 'uint16', data: new Uint16Array(64 * 64 * 4), compression: 'deflate' });
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
