// decodeImage on real and generated files: GeoTIFF round trips through our writer, files written by
// other encoders (GDAL-era fixtures, sharp/libvips, a hand-built BigTIFF), PNG 8/16 bit, bad inputs.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { CloudsegError, type ErrorCode } from '../../shared/errors.js';
import { decodeImage, sniffContainer } from '../../shared/imaging/decode.js';
import { writeGeoTiff } from '../../shared/imaging/geotiff-write.js';
import type { Georeference, RasterArray, RasterDtype } from '../../shared/imaging/types.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const MAX = 100_000_000;
const skipFixtures = fixturesMissing();
if (skipFixtures) console.warn(`SKIPPING fixture tests: ${skipFixtures}`);

const UTM_GEOREF: Georeference = {
  geoKeys: {
    GTModelTypeGeoKey: 1,
    GTRasterTypeGeoKey: 1,
    GTCitationGeoKey: 'WGS 84 / UTM zone 36S',
    GeogCitationGeoKey: 'WGS 84',
    GeogAngularUnitsGeoKey: 9102,
    GeogSemiMajorAxisGeoKey: 6378137, // a GeoDoubleParams key
    ProjectedCSTypeGeoKey: 32736,
    ProjLinearUnitsGeoKey: 9001,
  },
  modelTiepoint: [0, 0, 0, 446235, 9705660, 0],
  modelPixelScale: [10, 10, 0],
  modelTransformation: null,
};
const TRANSFORM_GEOREF: Georeference = {
  geoKeys: { GTModelTypeGeoKey: 2, GTRasterTypeGeoKey: 1, GeographicTypeGeoKey: 4326 },
  modelTiepoint: null,
  modelPixelScale: null,
  modelTransformation: [0.001, 0.0002, 0, 12.5, 0.0001, -0.001, 0, 47.25, 0, 0, 0, 0, 0, 0, 0, 1],
};

function ramp(dtype: RasterDtype, length: number): RasterArray {
  switch (dtype) {
    case 'uint8':
      return Uint8Array.from({ length }, (_, i) => (i * 7) % 256);
    case 'uint16':
      return Uint16Array.from({ length }, (_, i) => (i * 977) % 65536);
    case 'int16':
      return Int16Array.from({ length }, (_, i) => ((i * 977) % 65536) - 32768);
    case 'float32':
      return Float32Array.from({ length }, (_, i) => Math.sin(i) * 1.3);
    default:
      throw new Error(`no ramp for ${dtype}`);
  }
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, messagePart?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CloudsegError, `expected CloudsegError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.retryable, false);
    if (messagePart) assert.match(err.message, messagePart);
    return true;
  });
}

describe('decodeImage: GeoTIFF round trips through writeGeoTiff', () => {
  const cases = [];
  for (const dtype of ['uint8', 'uint16', 'int16', 'float32'] as const) {
    for (const bands of [1, 4, 6]) cases.push({ dtype, bands });
  }
  for (const { dtype, bands } of cases) {
    for (const compression of ['none', 'deflate'] as const) {
      it(`${dtype} x ${bands} bands, ${compression}`, async () => {
        const width = 37; // odd sizes catch stride mistakes
        const height = 23;
        const data = ramp(dtype, width * height * bands);
        const scaling = { scale: Array.from({ length: bands }, (_, b) => 1e-4 * (b + 1)), offset: Array<number>(bands).fill(-0.1) };
        const file = writeGeoTiff({ width, height, bands, dtype, data, georef: UTM_GEOREF, noData: 0, scaling, compression });
        const raster = await decodeImage(file, { name: 'roundtrip.tif', maxPixels: MAX });
        assert.equal(raster.width, width);
        assert.equal(raster.height, height);
        assert.equal(raster.bands, bands);
        assert.equal(raster.dtype, dtype);
        assert.deepEqual(Array.from(raster.data), Array.from(data));
        assert.deepEqual(raster.georef, UTM_GEOREF);
        assert.equal(raster.noData, 0);
        assert.deepEqual(raster.fileScaling, scaling);
      });
    }
  }

  it('keeps a ModelTransformation, NaN nodata, and no scaling when none is written', async () => {
    const data = ramp('float32', 8 * 8);
    const file = writeGeoTiff({ width: 8, height: 8, bands: 1, dtype: 'float32', data, georef: TRANSFORM_GEOREF, noData: Number.NaN });
    const raster = await decodeImage(file, { maxPixels: MAX });
    assert.deepEqual(raster.georef, TRANSFORM_GEOREF);
    assert.ok(Number.isNaN(raster.noData));
    assert.equal(raster.fileScaling, null);
  });

  it('returns georef null for a plain TIFF', async () => {
    const file = writeGeoTiff({ width: 4, height: 4, bands: 1, dtype: 'uint8', data: new Uint8Array(16) });
    const raster = await decodeImage(file, { maxPixels: MAX });
    assert.equal(raster.georef, null);
    assert.equal(raster.noData, null);
  });
});

describe('decodeImage: files from other writers', () => {
  it('38-Cloud band TIF (PackBits strips, no georeference) decodes 384x384 uint16', { skip: skipFixtures }, async () => {
    const bytes = await readFile(fixture('38cloud', 'red_patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF'));
    const raster = await decodeImage(bytes, { maxPixels: MAX });
    assert.deepEqual([raster.width, raster.height, raster.bands, raster.dtype], [384, 384, 1, 'uint16']);
    assert.equal(raster.georef, null);
    // cross-check a few samples against libvips' own TIFF reader
    const vips = await sharp(bytes).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
    const ref = new Uint16Array(vips.buffer, vips.byteOffset, vips.length / 2);
    assert.deepEqual(Array.from(raster.data), Array.from(ref));
  });

  it('On Cloud N band keeps UTM georeference and GDAL nodata', { skip: skipFixtures }, async () => {
    const raster = await decodeImage(await readFile(fixture('oncloudn', 'chip_id_1', 'B02.tif')), { maxPixels: MAX });
    assert.deepEqual([raster.width, raster.height, raster.bands, raster.dtype], [512, 512, 1, 'uint16']);
    assert.equal(raster.noData, 0);
    assert.equal(raster.georef?.geoKeys.ProjectedCSTypeGeoKey, 32736);
    assert.deepEqual(raster.georef?.modelTiepoint, [0, 0, 0, 446235, 9705660, 0]);
    assert.deepEqual(raster.georef?.modelPixelScale, [10, 10, 0]);
  });

  it('a tiled, LZW-compressed RGB TIFF written by libvips', async () => {
    const width = 300;
    const height = 200;
    const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 13) % 251);
    const bytes = await sharp(rgb, { raw: { width, height, channels: 3 } })
      .tiff({ tile: true, tileWidth: 128, tileHeight: 128, compression: 'lzw' })
      .toBuffer();
    const raster = await decodeImage(bytes, { maxPixels: MAX });
    assert.deepEqual([raster.width, raster.height, raster.bands, raster.dtype], [width, height, 3, 'uint8']);
    assert.deepEqual(Array.from(raster.data), Array.from(rgb));
  });

  it('a hand-built little-endian BigTIFF', async () => {
    const data = Uint16Array.from({ length: 6 * 5 }, (_, i) => i * 1000);
    const raster = await decodeImage(bigTiff(6, 5, data), { maxPixels: MAX });
    assert.deepEqual([raster.width, raster.height, raster.bands, raster.dtype], [6, 5, 1, 'uint16']);
    assert.deepEqual(Array.from(raster.data), Array.from(data));
  });
});

describe('decodeImage: PNG', () => {
  it('16-bit grey PNG keeps full 16-bit values', async () => {
    const width = 64;
    const height = 32;
    const values = Uint16Array.from({ length: width * height }, (_, i) => (i * 4099 + 257) % 65536);
    const png = await sharp(values, { raw: { width, height, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    assert.equal((await sharp(png).metadata()).depth, 'ushort', 'the test PNG itself must be 16-bit');
    const raster = await decodeImage(png, { name: 'gray16.png', maxPixels: MAX });
    assert.deepEqual([raster.width, raster.height, raster.bands, raster.dtype], [width, height, 1, 'uint16']);
    assert.deepEqual(Array.from(raster.data), Array.from(values));
  });

  it('16-bit RGB PNG keeps full 16-bit values per channel', async () => {
    const width = 16;
    const height = 16;
    const values = Uint16Array.from({ length: width * height * 3 }, (_, i) => (i * 7919) % 65536);
    const png = await sharp(values, { raw: { width, height, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    const raster = await decodeImage(png, { maxPixels: MAX });
    assert.deepEqual([raster.bands, raster.dtype], [3, 'uint16']);
    assert.deepEqual(Array.from(raster.data), Array.from(values));
  });

  it('16-bit grey+alpha PNG keeps both channels', async () => {
    const values = Uint16Array.from({ length: 12 * 5 * 2 }, (_, i) => (i * 3001 + 5) % 65536);
    const png = await sharp(values, { raw: { width: 12, height: 5, channels: 2 } }).toColourspace('grey16').png().toBuffer();
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.channels, meta.depth], [2, 'ushort'], 'the test PNG itself must be 16-bit grey+alpha');
    const raster = await decodeImage(png, { maxPixels: MAX });
    assert.deepEqual([raster.bands, raster.dtype], [2, 'uint16']);
    assert.deepEqual(Array.from(raster.data), Array.from(values));
  });

  for (const channels of [1, 2, 3, 4] as const) {
    it(`8-bit PNG with ${channels} channel(s)`, async () => {
      const values = Uint8Array.from({ length: 10 * 10 * channels }, (_, i) => (i * 31) % 256);
      const png = await sharp(values, { raw: { width: 10, height: 10, channels } })
        .toColourspace(channels <= 2 ? 'b-w' : 'srgb')
        .png()
        .toBuffer();
      assert.equal((await sharp(png).metadata()).channels, channels, 'the test PNG itself must have that many channels');
      const raster = await decodeImage(png, { maxPixels: MAX });
      assert.deepEqual([raster.bands, raster.dtype, raster.georef], [channels, 'uint8', null]);
      assert.deepEqual(Array.from(raster.data), Array.from(values));
    });
  }
});

describe('decodeImage: refusals', () => {
  it('EMPTY_OBJECT for zero bytes', async () => {
    await rejectsWith(decodeImage(new Uint8Array(0), { name: 'empty.tif', maxPixels: MAX }), 'EMPTY_OBJECT', /empty\.tif/);
  });

  it('UNSUPPORTED_FORMAT for a real JPEG even when named .tif', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    await rejectsWith(
      decodeImage(jpeg, { name: 'photo.tif', contentType: 'image/tiff', maxPixels: MAX }),
      'UNSUPPORTED_FORMAT',
      /ff d8 ff/,
    );
  });

  it('UNSUPPORTED_FORMAT for text', async () => {
    await rejectsWith(decodeImage(new TextEncoder().encode('hello, not an image'), { maxPixels: MAX }), 'UNSUPPORTED_FORMAT');
  });

  it('CORRUPT_IMAGE for a TIFF truncated in the middle (uncompressed and deflate)', async () => {
    for (const compression of ['none', 'deflate'] as const) {
      const file = writeGeoTiff({ width: 64, height: 64, bands: 4, dtype: 'uint16', data: ramp('uint16', 64 * 64 * 4), compression });
      await rejectsWith(decodeImage(file.subarray(0, Math.floor(file.length / 2)), { maxPixels: MAX }), 'CORRUPT_IMAGE');
    }
  });

  it('CORRUPT_IMAGE for a real fixture TIFF truncated in the middle', { skip: skipFixtures }, async () => {
    const bytes = await readFile(fixture('oncloudn', 'chip_id_1', 'B03.tif'));
    await rejectsWith(decodeImage(bytes.subarray(0, bytes.length >> 1), { maxPixels: MAX }), 'CORRUPT_IMAGE', /truncated/);
  });

  it('CORRUPT_IMAGE for a TIFF with only its header', async () => {
    const file = writeGeoTiff({ width: 8, height: 8, bands: 1, dtype: 'uint8', data: new Uint8Array(64) });
    await rejectsWith(decodeImage(file.subarray(0, 12), { maxPixels: MAX }), 'CORRUPT_IMAGE');
  });

  it('CORRUPT_IMAGE for a truncated PNG', async () => {
    const png = await sharp(ramp('uint8', 128 * 128 * 3) as Uint8Array, { raw: { width: 128, height: 128, channels: 3 } })
      .png()
      .toBuffer();
    await rejectsWith(decodeImage(png.subarray(0, png.length >> 1), { name: 'cut.png', maxPixels: MAX }), 'CORRUPT_IMAGE', /cut\.png/);
  });

  it('IMAGE_TOO_LARGE from a header claiming 100000x100000, without reading pixels', async () => {
    const file = writeGeoTiff({ width: 1, height: 1, bands: 1, dtype: 'uint8', data: new Uint8Array(1), compression: 'none' });
    setTiffLong(file, 256, 100_000);
    setTiffLong(file, 257, 100_000);
    await rejectsWith(decodeImage(file, { maxPixels: MAX }), 'IMAGE_TOO_LARGE', /100000x100000/);
  });

  it('IMAGE_TOO_LARGE for PNG above maxPixels', async () => {
    const png = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#000' } }).png().toBuffer();
    await rejectsWith(decodeImage(png, { maxPixels: 200 * 100 - 1 }), 'IMAGE_TOO_LARGE');
    const ok = await decodeImage(png, { maxPixels: 200 * 100 });
    assert.equal(ok.width, 200);
  });
});

describe('sniffContainer', () => {
  const cases: [string, number[], string | null][] = [
    ['classic TIFF II', [0x49, 0x49, 42, 0], 'tiff'],
    ['classic TIFF MM', [0x4d, 0x4d, 0, 42], 'tiff'],
    ['BigTIFF II', [0x49, 0x49, 43, 0], 'tiff'],
    ['BigTIFF MM', [0x4d, 0x4d, 0, 43], 'tiff'],
    ['PNG', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'png'],
    ['JPEG', [0xff, 0xd8, 0xff, 0xe0], null],
    ['too short', [0x49, 0x49], null],
  ];
  for (const [name, bytes, expected] of cases) {
    it(name, () => assert.equal(sniffContainer(Uint8Array.from(bytes)), expected));
  }
});

// Rewrites a LONG value in the first IFD of a little-endian classic TIFF (our writer's layout).
function setTiffLong(file: Uint8Array, tag: number, value: number): void {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const ifd = view.getUint32(4, true);
  const count = view.getUint16(ifd, true);
  for (let i = 0; i < count; i++) {
    const at = ifd + 2 + i * 12;
    if (view.getUint16(at, true) === tag) {
      assert.equal(view.getUint16(at + 2, true), 4, 'expected a LONG entry');
      view.setUint32(at + 8, value, true);
      return;
    }
  }
  throw new Error(`tag ${tag} not found`);
}

// A minimal little-endian BigTIFF: one uncompressed strip of uint16 samples, 20-byte IFD entries.
function bigTiff(width: number, height: number, data: Uint16Array): Uint8Array {
  const entries: [number, number, number][] = [
    [256, 4, width], // ImageWidth LONG
    [257, 4, height],
    [258, 3, 16], // BitsPerSample SHORT
    [259, 3, 1], // no compression
    [262, 3, 1], // BlackIsZero
    [273, 16, 0], // StripOffsets LONG8, set below
    [277, 3, 1],
    [278, 4, height],
    [279, 16, data.byteLength], // StripByteCounts LONG8
  ];
  const ifdAt = 16;
  const ifdBytes = 8 + entries.length * 20 + 8;
  const dataAt = ifdAt + ifdBytes;
  entries[5]![2] = dataAt;
  const out = new Uint8Array(dataAt + data.byteLength);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49]);
  view.setUint16(2, 43, true);
  view.setUint16(4, 8, true); // offset size
  view.setBigUint64(8, BigInt(ifdAt), true);
  view.setBigUint64(ifdAt, BigInt(entries.length), true);
  entries.forEach(([tag, type, value], i) => {
    const at = ifdAt + 8 + i * 20;
    view.setUint16(at, tag, true);
    view.setUint16(at + 2, type, true);
    view.setBigUint64(at + 4, 1n, true);
    if (type === 3) view.setUint16(at + 12, value, true);
    else if (type === 4) view.setUint32(at + 12, value, true);
    else view.setBigUint64(at + 12, BigInt(value), true);
  });
  data.forEach((v, i) => view.setUint16(dataAt + i * 2, v, true));
  return out;
}
