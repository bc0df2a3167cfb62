// decodeImage copies whole decoded blocks for chunky little-endian TIFFs instead of geotiff's
// per-sample reader: the samples must be exactly what geotiff's readRasters gives, for every layout
// a writer may choose (strips or tiles, partial edge blocks, compressions, predictors, depths).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromArrayBuffer } from 'geotiff';
import sharp from 'sharp';
import { decodeImage } from '../../shared/imaging/decode.js';

const WIDTH = 37;
const HEIGHT = 53; // not a multiple of any tile or strip height used below

function pattern(count: number, max: number): number[] {
  return Array.from({ length: count }, (_, i) => (i * 7919 + (i >> 3) * 104729) % max);
}

const CASES = [
  { name: 'uint8 strips, none', depth: 'uchar', tiff: { compression: 'none' } },
  { name: 'uint8 strips, deflate + predictor', depth: 'uchar', tiff: { compression: 'deflate', predictor: 'horizontal' } },
  { name: 'uint8 tiles 16x16, lzw', depth: 'uchar', tiff: { compression: 'lzw', tile: true, tileWidth: 16, tileHeight: 16 } },
  { name: 'uint16 tiles 16x32, deflate + predictor', depth: 'ushort', tiff: { compression: 'deflate', predictor: 'horizontal', tile: true, tileWidth: 16, tileHeight: 32 } },
  { name: 'uint16 strips, packbits', depth: 'ushort', tiff: { compression: 'packbits' } },
] as const;

for (const c of CASES) {
  test(`block copy equals geotiff readRasters: ${c.name}`, async () => {
    const channels = 3;
    const max = c.depth === 'uchar' ? 256 : 65536;
    const values = pattern(WIDTH * HEIGHT * channels, max);
    const raw = c.depth === 'uchar' ? Buffer.from(Uint8Array.from(values)) : Buffer.from(Uint16Array.from(values).buffer);
    const bytes = await sharp(raw, { raw: { width: WIDTH, height: HEIGHT, channels, ...(c.depth === 'ushort' ? { depth: 'ushort' } : {}) } })
      .toColourspace(c.depth === 'ushort' ? 'rgb16' : 'srgb')
      .tiff(c.tiff)
      .toBuffer();
    const raster = await decodeImage(bytes, { name: 'case.tif', maxPixels: 1e6 });
    const image = await (await fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)).getImage();
    const reference = (await image.readRasters({ interleave: true })) as unknown as ArrayLike<number>;
    assert.equal(raster.width, WIDTH);
    assert.equal(raster.height, HEIGHT);
    assert.equal(raster.bands, channels);
    assert.equal(raster.dtype, c.depth === 'uchar' ? 'uint8' : 'uint16');
    assert.equal(raster.data.length, reference.length);
    const firstDifference = Array.prototype.findIndex.call(raster.data, (v: number, i: number) => v !== reference[i]);
    assert.equal(firstDifference, -1, `first differing sample ${firstDifference}`);
    // 8-bit pixels reach the file unchanged (sharp converts 16-bit ones through its colour pipeline).
    if (c.depth === 'uchar') assert.deepEqual(Array.from(raster.data), values, 'and both are the pixels that were written');
  });
}
