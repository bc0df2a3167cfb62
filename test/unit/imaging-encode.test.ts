// Encoders and stacking, checked by decoding the output again (our decoder and libvips via sharp):
// mask PNG/COG values and georeference, the overlay quick-look, stacking the real chip bands.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { CloudsegError } from '../../shared/errors.js';
import { decodeImage, parseGdalScaling } from '../../shared/imaging/decode.js';
import { encodeMaskCog, encodeMaskPng, encodeOverlayPng } from '../../shared/imaging/encode.js';
import { gdalMetadataXml } from '../../shared/imaging/geotiff-write.js';
import { encodeRasterGeoTiff, stackBands } from '../../shared/imaging/stack.js';
import type { Georeference, Raster } from '../../shared/imaging/types.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const MAX = 100_000_000;
const skipFixtures = fixturesMissing();
if (skipFixtures) console.warn(`SKIPPING fixture tests: ${skipFixtures}`);

const GEOREF: Georeference = {
  geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, GTCitationGeoKey: 'WGS 84 / UTM zone 36S', ProjectedCSTypeGeoKey: 32736 },
  modelTiepoint: [0, 0, 0, 446235, 9705660, 0],
  modelPixelScale: [10, 10, 0],
  modelTransformation: null,
};

function checkerMask(width: number, height: number): Uint8Array {
  return Uint8Array.from({ length: width * height }, (_, i) => (((i % width) >> 2) + ((Math.floor(i / width)) >> 2)) % 2);
}

describe('encodeMaskPng', () => {
  it('writes an 8-bit one-channel grey PNG with 0/255 (any nonzero is cloud)', async () => {
    const mask = checkerMask(33, 17);
    mask[0] = 7;
    const png = await encodeMaskPng(mask, 33, 17);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels, meta.depth], ['png', 33, 17, 1, 'uchar']);
    const back = await decodeImage(png, { maxPixels: MAX });
    assert.deepEqual(Array.from(back.data), Array.from(mask, (v) => (v ? 255 : 0)));
  });

  it('refuses a mask of the wrong length', async () => {
    await assert.rejects(encodeMaskPng(new Uint8Array(10), 4, 4), RangeError);
  });
});

describe('encodeMaskCog', () => {
  it('writes 8-bit 1-band 0/255 with the same georeference, nodata 128', async () => {
    // Not much smaller: libvips refuses a TIFF whose 512 px tile dwarfs the image (tens of pixels); GDAL does not.
    const mask = checkerMask(136, 72);
    const tif = await encodeMaskCog(mask, 136, 72, { georef: GEOREF });
    assert.ok(Buffer.isBuffer(tif));
    const back = await decodeImage(tif, { maxPixels: MAX });
    assert.deepEqual([back.width, back.height, back.bands, back.dtype], [136, 72, 1, 'uint8']);
    assert.deepEqual(back.georef, GEOREF);
    assert.equal(back.noData, 128);
    assert.deepEqual(Array.from(back.data), Array.from(mask, (v) => (v ? 255 : 0)));
    // and libvips reads the same pixels
    const vips = await sharp(tif).toColourspace('b-w').raw().toBuffer();
    assert.deepEqual(Array.from(vips), Array.from(back.data));
  });

  it('keeps the georeference of a real On Cloud N chip', { skip: skipFixtures }, async () => {
    const band = await decodeImage(await readFile(fixture('oncloudn', 'chip_id_2', 'B04.tif')), { maxPixels: MAX });
    const tif = await encodeMaskCog(new Uint8Array(512 * 512).fill(1), 512, 512, { georef: band.georef });
    const back = await decodeImage(tif, { maxPixels: MAX });
    assert.deepEqual(back.georef, band.georef);
    assert.ok(tif.length < 5_000, `a constant mask compresses (${tif.length} bytes)`);
  });
});

describe('encodeOverlayPng', () => {
  it('makes an RGB PNG of the image size, cloud pixels tinted magenta', async () => {
    const width = 16;
    const height = 8;
    const bands = 4;
    // blue, green, red, nir; a left-to-right grey ramp
    const data = Uint16Array.from({ length: width * height * bands }, (_, i) => 1000 + (Math.floor(i / bands) % width) * 500);
    const raster: Raster = { width, height, bands, dtype: 'uint16', data, georef: null, fileScaling: null, noData: null };
    const mask = new Uint8Array(width * height);
    mask.fill(1, 0, width); // first row is cloud
    const png = await encodeOverlayPng(raster, { scale: [1e-4], offset: [0] }, mask);
    const { data: rgb, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [width, height, 3]);
    const px = (x: number, y: number): number[] => Array.from(rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3));
    const [r1, g1, b1] = px(8, 1);
    assert.ok(r1 === g1 && g1 === b1, 'clear pixels of a grey ramp stay grey');
    const [r0, g0, b0] = px(8, 0);
    assert.ok(r0! > g0! && b0! > g0!, `cloud pixels are tinted magenta, got ${[r0, g0, b0]}`);
    assert.ok(px(15, 1)[0]! > px(0, 1)[0]!, 'stretch keeps the ramp increasing');
  });

  it('shows a single-band image as grey', async () => {
    const raster: Raster = { width: 4, height: 4, bands: 1, dtype: 'float32', data: Float32Array.from({ length: 16 }, (_, i) => i / 16), georef: null, fileScaling: null, noData: null };
    const png = await encodeOverlayPng(raster, { scale: [1], offset: [0] }, new Uint8Array(16));
    assert.equal((await sharp(png).metadata()).channels, 3);
  });
});

describe('stackBands', () => {
  it('stacks the On Cloud N chip bands: values, georeference, nodata, GDAL scale; libvips agrees', { skip: skipFixtures }, async () => {
    const names = ['B02', 'B03', 'B04', 'B08'];
    const files = await Promise.all(names.map((b) => readFile(fixture('oncloudn', 'chip_id_1', `${b}.tif`))));
    const sources = await Promise.all(files.map((f) => decodeImage(f, { maxPixels: MAX })));
    const scaling = { scale: [1e-4, 1e-4, 1e-4, 1e-4], offset: [0, 0, 0, 0] };
    const stacked = await stackBands(files, { scaling });
    const back = await decodeImage(stacked, { maxPixels: MAX });
    assert.deepEqual([back.width, back.height, back.bands, back.dtype], [512, 512, 4, 'uint16']);
    assert.deepEqual(back.georef, sources[0]!.georef);
    assert.equal(back.noData, 0);
    assert.deepEqual(back.fileScaling, scaling);
    for (let b = 0; b < 4; b++) {
      const src = sources[b]!.data;
      let differing = 0;
      for (let p = 0; p < 512 * 512; p++) if (back.data[p * 4 + b] !== src[p]) differing++;
      assert.equal(differing, 0, `band ${names[b]} differs in ${differing} pixels`);
      const vips = await sharp(stacked).extractChannel(b as 0 | 1 | 2 | 3).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
      const vipsBand = new Uint16Array(vips.buffer, vips.byteOffset, vips.length / 2);
      assert.deepEqual(Array.from(vipsBand), Array.from(src), `libvips reads band ${names[b]} differently`);
    }
  });

  it('refuses bands of different sizes and multi-band inputs with BAND_MISMATCH', async () => {
    const a = await encodeRasterGeoTiff(plain(4, 4, 1));
    const b = await encodeRasterGeoTiff(plain(5, 4, 1));
    const c = await encodeRasterGeoTiff(plain(4, 4, 2));
    for (const set of [[a, b], [a, c], []]) {
      await assert.rejects(stackBands(set), (e: unknown) => e instanceof CloudsegError && e.code === 'BAND_MISMATCH');
    }
  });

  it('without scaling writes no GDAL_METADATA', async () => {
    const a = await encodeRasterGeoTiff(plain(4, 4, 1));
    const back = await decodeImage(await stackBands([a, a]), { maxPixels: MAX });
    assert.equal(back.bands, 2);
    assert.equal(back.fileScaling, null);
  });
});

describe('encodeRasterGeoTiff', () => {
  it('keeps file scaling by default, replaces or drops it on request', async () => {
    const r = { ...plain(3, 3, 2), fileScaling: { scale: [2e-5, 2e-5], offset: [-0.1, -0.1] } };
    assert.deepEqual((await decodeImage(await encodeRasterGeoTiff(r), { maxPixels: MAX })).fileScaling, r.fileScaling);
    const other = { scale: [1, 2], offset: [3, 4] };
    assert.deepEqual((await decodeImage(await encodeRasterGeoTiff(r, { scaling: other }), { maxPixels: MAX })).fileScaling, other);
    assert.equal((await decodeImage(await encodeRasterGeoTiff(r, { scaling: null }), { maxPixels: MAX })).fileScaling, null);
  });
});

describe('GDAL_METADATA scale/offset', () => {
  it('parses what GDAL writes (role attributes, any order, dataset items ignored)', () => {
    const xml = `<GDALMetadata>
  <Item name="AREA_OR_POINT">Area</Item>
  <Item name="OFFSET" sample="0" role="offset">-0.1</Item>
  <Item name="SCALE" sample="0" role="scale">2e-05</Item>
  <Item role="scale" sample="2" name="SCALE">0.0001</Item>
</GDALMetadata>`;
    assert.deepEqual(parseGdalScaling(xml, 3), { scale: [2e-5, 1, 1e-4], offset: [-0.1, 0, 0] });
    assert.equal(parseGdalScaling('<GDALMetadata><Item name="AREA_OR_POINT">Area</Item></GDALMetadata>', 3), null);
  });

  it('our XML parses back', () => {
    const s = { scale: [2e-5, 3e-5], offset: [-0.1, 0.2] };
    assert.deepEqual(parseGdalScaling(gdalMetadataXml(s, 2), 2), s);
  });
});

function plain(width: number, height: number, bands: number): Raster {
  return {
    width,
    height,
    bands,
    dtype: 'uint16',
    data: Uint16Array.from({ length: width * height * bands }, (_, i) => i),
    georef: GEOREF,
    fileScaling: null,
    noData: null,
  };
}
