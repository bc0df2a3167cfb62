// What the chaos run uploads: many small valid scenes (some names uploaded twice), and the poison
// set, each with the outcome a user should see for it.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { writeGeoTiff } from '../../shared/imaging/geotiff-write.js';
import { deflateBomb, withClaimedSize } from '../support/tiff-surgery.js';

export interface ChaosInput {
  name: string;
  bytes: Buffer;
  contentType: string;
  /** 'succeeded', or the error code of the `failed` event it must get. */
  expect: string;
}

/** A small real scene cut from a bundled sample (4 bands, uint16 with its GDAL scaling). */
export async function smallScene(samplePath: string, width: number, height: number): Promise<Buffer> {
  const { decodeImage } = await import('../../shared/imaging/decode.js');
  const raster = await decodeImage(await readFile(samplePath), { name: samplePath, maxPixels: 1e8 });
  const data = new Uint16Array(width * height * raster.bands);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let b = 0; b < raster.bands; b++) data[(y * width + x) * raster.bands + b] = Number(raster.data[(y * raster.width + x) * raster.bands + b]);
    }
  }
  return Buffer.from(writeGeoTiff({ width, height, bands: raster.bands, dtype: 'uint16', data, scaling: raster.fileScaling, noData: raster.noData }));
}

export async function poisonSet(samplePath: string): Promise<ChaosInput[]> {
  const good = await smallScene(samplePath, 64, 64);
  const tiff = (bands: number, dtype: 'uint16' | 'float32', fill: number) =>
    Buffer.from(writeGeoTiff({ width: 32, height: 32, bands, dtype, data: dtype === 'uint16' ? new Uint16Array(32 * 32 * bands).fill(fill) : new Float32Array(32 * 32 * bands).fill(fill) }));
  const rgba = Buffer.alloc(16 * 16 * 4, 90);
  const png8 = await sharp(rgba, { raw: { width: 16, height: 16, channels: 4 } }).png().toBuffer();
  const png16 = await sharp(new Uint16Array(16 * 16 * 4).fill(9000), { raw: { width: 16, height: 16, channels: 4 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
  return [
    { name: 'poison/zero-bytes.tif', bytes: Buffer.alloc(0), contentType: 'image/tiff', expect: 'EMPTY_OBJECT' },
    { name: 'poison/truncated.tif', bytes: good.subarray(0, Math.floor(good.length / 3)), contentType: 'image/tiff', expect: 'CORRUPT_IMAGE' },
    { name: 'poison/text-named.tif', bytes: Buffer.from('hello, I am text'), contentType: 'image/tiff', expect: 'UNSUPPORTED_FORMAT' },
    { name: 'poison/text-as-text.tif', bytes: Buffer.from('hello, I am text'), contentType: 'text/plain', expect: 'UNSUPPORTED_FORMAT' },
    { name: 'poison/png-named.tif', bytes: png8, contentType: 'image/tiff', expect: 'succeeded' },
    { name: 'poison/one-band.tif', bytes: tiff(1, 'uint16', 500), contentType: 'image/tiff', expect: 'BAND_MISMATCH' },
    { name: 'poison/three-bands.tif', bytes: tiff(3, 'uint16', 500), contentType: 'image/tiff', expect: 'BAND_MISMATCH' },
    { name: 'poison/sixteen-bit.png', bytes: png16, contentType: 'image/png', expect: 'succeeded' },
    { name: 'poison/claims-100000x100000.tif', bytes: Buffer.from(withClaimedSize(100_000, 100_000)), contentType: 'image/tiff', expect: 'IMAGE_TOO_LARGE' },
    { name: 'poison/deflate-bomb.tif', bytes: Buffer.from(deflateBomb(256 * 2 ** 20)), contentType: 'image/tiff', expect: 'CORRUPT_IMAGE' },
    { name: 'poison/200-bands.tif', bytes: tiff(200, 'uint16', 1), contentType: 'image/tiff', expect: 'BAND_MISMATCH' },
    { name: 'poison/all-nan.tif', bytes: tiff(4, 'float32', Number.NaN), contentType: 'image/tiff', expect: 'NO_VALID_PIXELS' },
    { name: 'poison/1x1.tif', bytes: await smallScene(samplePath, 1, 1), contentType: 'image/tiff', expect: 'succeeded' },
    { name: 'poison/7x13.tif', bytes: await smallScene(samplePath, 7, 13), contentType: 'image/tiff', expect: 'succeeded' },
    { name: 'poison/with spaces.tif', bytes: good, contentType: 'image/tiff', expect: 'succeeded' },
    { name: 'poison/ünïcödé-雲.tif', bytes: good, contentType: 'image/tiff', expect: 'succeeded' },
    { name: 'poison/hash#and?query.tif', bytes: good, contentType: 'image/tiff', expect: 'succeeded' },
  ];
}
