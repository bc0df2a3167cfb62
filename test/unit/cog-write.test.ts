// The mask COG read back with geotiff.js at every level (pixels, tiles, nodata, georeference, tags),
// its byte layout checked against what GDAL's COG driver writes, the mode overviews checked against
// a brute-force mode, and encodeMasks' quick-look rule (PNG scale, COG always written above it).
import { CLOUD_LEGEND } from '../../shared/imaging/mask-values.js';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { fromArrayBuffer, type GeoTIFFImage } from 'geotiff';
import sharp from 'sharp';
import { writeMaskCog } from '../../shared/imaging/cog-write.js';
import { encodeMaskCog, encodeOverlayPng } from '../../shared/imaging/encode.js';
import { halveMask, maskOverviews, quickLookScale, QUICK_LOOK_MAX_SIDE, type MaskLevel } from '../../shared/imaging/mask-overviews.js';
import type { Georeference, Raster } from '../../shared/imaging/types.js';
import { encodeMasks, type MaskResult } from '../../shared/worker/segment-image.js';

const GEOREF: Georeference = {
  geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, GTCitationGeoKey: 'WGS 84 / UTM zone 36S', ProjectedCSTypeGeoKey: 32736 },
  modelTiepoint: [0, 0, 0, 446235, 9705660, 0],
  modelPixelScale: [10, 10, 0],
  modelTransformation: null,
};

const CLEAR = 0;
const NODATA = 128;
const CLOUD = 255;

// A mask with structure at several scales, values outside MASK_VALUES (1, 7: cloud) and a nodata band.
function patternMask(width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (x < 37) out[i] = NODATA;
      else if (((x * 7 + y * 13) ^ (x >> 3)) % 11 < 4) out[i] = (x + y) % 2 ? 1 : 7;
      else if (((x >> 5) + (y >> 4)) % 3 === 0) out[i] = CLOUD;
      else out[i] = CLEAR;
    }
  }
  return out;
}

const asMaskValue = (v: number) => (v === CLEAR || v === NODATA ? v : CLOUD);

// The mode of the block's existing pixels in scan order, ties to the first: written independently of halveMask.
function bruteHalve(level: MaskLevel): MaskLevel {
  const width = Math.ceil(level.width / 2);
  const height = Math.ceil(level.height / 2);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const seen: number[] = [];
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const sx = 2 * x + dx;
        const sy = 2 * y + dy;
        if (sx < level.width && sy < level.height) seen.push(asMaskValue(level.data[sy * level.width + sx]!));
      }
      const count = (v: number) => seen.filter((s) => s === v).length;
      data[y * width + x] = seen.reduce((best, v) => (count(v) > count(best) ? v : best), seen[0]!);
    }
  }
  return { width, height, data };
}

async function images(file: Buffer): Promise<GeoTIFFImage[]> {
  const tiff = await fromArrayBuffer(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
  const count = await tiff.getImageCount();
  return Promise.all(Array.from({ length: count }, (_, i) => tiff.getImage(i)));
}

async function pixels(image: GeoTIFFImage): Promise<number[]> {
  const [band] = (await image.readRasters()) as unknown as ArrayLike<number>[];
  return Array.from(band!);
}

// GDAL_METADATA items, unescaped the way GDAL reads them (names once, values twice).
function metadataItems(xml: string): Record<string, string> {
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const items: Record<string, string> = {};
  for (const m of xml.matchAll(/<Item name="([^"]*)"([^>]*)>([^<]*)<\/Item>/g)) {
    if (!m[2]!.includes('sample=')) items[unescape(m[1]!)] = unescape(unescape(m[3]!));
  }
  return items;
}

describe('halveMask (mode overviews)', () => {
  it('keeps the majority of each 2x2 block, ties to the top-left pixel, nodata as a class of its own', () => {
    const cases: [number[], number][] = [
      [[CLOUD, CLOUD, CLOUD, CLEAR], CLOUD],
      [[CLEAR, CLOUD, CLOUD, CLOUD], CLOUD],
      [[CLEAR, CLOUD, CLOUD, CLEAR], CLEAR], // 2-2 tie: top-left
      [[CLOUD, CLEAR, CLEAR, CLOUD], CLOUD],
      [[NODATA, NODATA, CLOUD, CLEAR], NODATA],
      [[CLOUD, NODATA, NODATA, NODATA], NODATA],
      [[CLEAR, NODATA, CLOUD, CLOUD], CLOUD],
      [[7, 1, CLEAR, NODATA], CLOUD], // any other byte is cloud
    ];
    for (const [block, expected] of cases) {
      const out = halveMask({ width: 2, height: 2, data: Uint8Array.from(block) });
      assert.deepEqual([out.width, out.height, out.data[0]], [1, 1, expected], `block ${block}`);
    }
  });

  it('rounds odd sizes up and takes the mode of the pixels that exist at the edges', () => {
    const level = { width: 5, height: 3, data: patternMask(5, 3) };
    const out = halveMask(level);
    assert.deepEqual([out.width, out.height], [3, 2]);
    assert.deepEqual(Array.from(out.data), Array.from(bruteHalve(level).data));
    const big = { width: 301, height: 207, data: patternMask(301, 207) };
    assert.deepEqual(Array.from(halveMask(big).data), Array.from(bruteHalve(big).data));
  });

  it('makes overviews until a level fits one 512 px tile', () => {
    const sizes = (w: number, h: number) => maskOverviews({ width: w, height: h, data: new Uint8Array(w * h) }).map((l) => [l.width, l.height]);
    assert.deepEqual(sizes(512, 512), []);
    assert.deepEqual(sizes(513, 10), [[257, 5]]);
    assert.deepEqual(sizes(3000, 2000), [[1500, 1000], [750, 500], [375, 250]]);
    assert.deepEqual(sizes(10980, 10980).at(-1), [344, 344]);
  });

  it('shrinks the PNG by a power of two above QUICK_LOOK_MAX_SIDE', () => {
    assert.equal(QUICK_LOOK_MAX_SIDE, 4096);
    const table: [number, number, number][] = [[1, 1, 1], [4096, 4096, 1], [4097, 10, 2], [10, 7800, 2], [7800, 7800, 2], [10980, 10980, 4], [20000, 100, 8]];
    for (const [w, h, scale] of table) assert.equal(quickLookScale(w, h), scale, `${w}x${h}`);
  });
});

describe('writeMaskCog read back with geotiff.js', () => {
  const width = 1100;
  const height = 700;
  const mask = patternMask(width, height);
  const full = { width, height, data: mask };
  const overviews = maskOverviews(full);
  const tags = { CLOUDSEG_REFLECTANCE: 'toa: (0.00002 * DN - 0.1) / sin(45°) & "MTL"', 'a<b': 'x' };

  it('has every level, tiled 512, deflate, nodata 128, with the mask pixels at each', async () => {
    const file = await writeMaskCog({ levels: [full, ...overviews], georef: GEOREF, tags });
    const read = await images(file);
    assert.deepEqual(read.map((im) => [im.getWidth(), im.getHeight()]), [[1100, 700], [550, 350], [275, 175]]);
    let expected: MaskLevel = { width, height, data: Uint8Array.from(mask, asMaskValue) };
    for (const [i, image] of read.entries()) {
      if (i > 0) expected = bruteHalve(expected);
      const fd = image.fileDirectory;
      assert.deepEqual([image.getTileWidth(), image.getTileHeight(), image.getSamplesPerPixel(), fd.getValue('Compression')], [512, 512, 1, 8], `level ${i}`);
      assert.equal(image.getGDALNoData(), NODATA, `level ${i} declares nodata`);
      assert.equal(fd.getValue('NewSubfileType') ?? 0, i === 0 ? 0 : 1, `level ${i} subfile type`);
      const got = await pixels(image);
      const wrong = got.reduce((n, v, p) => n + (v === expected.data[p] ? 0 : 1), 0);
      assert.equal(wrong, 0, `level ${i}: ${wrong} pixels differ`);
    }
    // the values seen are MASK_VALUES only, and every class survives to the smallest level
    assert.deepEqual([...new Set(await pixels(read[2]!))].sort((a, b) => a - b), [CLEAR, NODATA, CLOUD]);
  });

  it('carries the georeference, the tags and the value meanings on the full-resolution level', async () => {
    const read = await images(await writeMaskCog({ levels: [full, ...overviews], georef: GEOREF, tags }));
    const [main, ...rest] = read;
    assert.deepEqual(main!.getOrigin(), [446235, 9705660, 0]);
    assert.deepEqual(main!.getResolution(), [10, -10, 0]);
    assert.equal(main!.getGeoKeys()?.ProjectedCSTypeGeoKey, 32736);
    const xml = String(await main!.fileDirectory.loadValue('GDAL_METADATA'));
    const items = metadataItems(xml);
    assert.equal(items.CLOUDSEG_REFLECTANCE, tags.CLOUDSEG_REFLECTANCE);
    assert.equal(items['a<b'], 'x');
    assert.deepEqual([items.MASK_VALUE_CLEAR, items.MASK_VALUE_CLOUD, items.MASK_VALUE_NODATA], ['0', '255', '128']);
    for (const overview of rest) assert.equal(overview.fileDirectory.hasTag('GDAL_METADATA'), false);
  });

  it('without a georeference writes no geo tags', async () => {
    const [main] = await images(await writeMaskCog({ levels: [full], georef: null }));
    for (const tag of ['ModelTiepoint', 'ModelPixelScale', 'ModelTransformation', 'GeoKeyDirectory'] as const) {
      assert.equal(main!.fileDirectory.hasTag(tag), false, tag);
    }
    assert.equal(main!.getGDALNoData(), NODATA);
  });

  it('is laid out as GDAL writes a COG: ghost header, IFDs in order, smallest overview data first, leaders and trailers', async () => {
    const file = await writeMaskCog({ levels: [full, ...overviews], georef: GEOREF });
    const ghost = file.subarray(8, 8 + 43).toString('latin1');
    assert.match(ghost, /^GDAL_STRUCTURAL_METADATA_SIZE=(\d{6}) bytes\n$/);
    const size = Number(ghost.slice(30, 36));
    const body = file.subarray(8 + 43, 8 + 43 + size).toString('latin1');
    for (const item of ['LAYOUT=IFDS_BEFORE_DATA', 'BLOCK_ORDER=ROW_MAJOR', 'BLOCK_LEADER=SIZE_AS_UINT4', 'BLOCK_TRAILER=LAST_4_BYTES_REPEATED', 'KNOWN_INCOMPATIBLE_EDITION=NO']) {
      assert.ok(body.includes(`${item}\n`), item);
    }
    const firstIfd = file.readUInt32LE(4);
    assert.equal(firstIfd, 8 + 43 + size + ((8 + 43 + size) % 2));
    const read = await images(file);
    const offsets = await Promise.all(read.map(async (im) => Array.from((await im.fileDirectory.loadValue('TileOffsets')) as ArrayLike<number>)));
    const counts = await Promise.all(read.map(async (im) => Array.from((await im.fileDirectory.loadValue('TileByteCounts')) as ArrayLike<number>)));
    assert.deepEqual(offsets.map((o) => o.length), [6, 2, 1]);
    // data: smallest overview first, each level row-major, after every IFD
    const flat = [...offsets[2]!, ...offsets[1]!, ...offsets[0]!];
    assert.deepEqual(flat, [...flat].sort((a, b) => a - b));
    assert.ok(flat[0]! > firstIfd + 400, 'tile data after the IFDs');
    offsets.forEach((level, l) =>
      level.forEach((at, t) => {
        const n = counts[l]![t]!;
        assert.equal(file.readUInt32LE(at - 4), n, `leader of level ${l} tile ${t}`);
        assert.deepEqual(file.subarray(at + n, at + n + 4), file.subarray(at + n - 4, at + n), `trailer of level ${l} tile ${t}`);
      }),
    );
    assert.equal(flat.at(-1)! + counts[0]!.at(-1)! + 4, file.length, 'the last full-resolution tile ends the file');
  });

  it('refuses levels whose data does not match their size', async () => {
    await assert.rejects(writeMaskCog({ levels: [], georef: null }), RangeError);
    await assert.rejects(writeMaskCog({ levels: [{ width: 4, height: 4, data: new Uint8Array(15) }], georef: null }), RangeError);
    await assert.rejects(encodeMaskCog(new Uint8Array(10), 4, 4, { georef: null }), RangeError);
  });
});

describe('encodeMasks: PNG full size or quick-look, COG', () => {
  const result = (width: number, height: number, georef: Georeference | null, tags?: Record<string, string>): MaskResult => ({
    width,
    height,
    mask: patternMask(width, height),
    legend: CLOUD_LEGEND,
    cloudFraction: 0.5,
    summary: { validPixels: width * height, cloudFraction: 0.5, shadowFraction: null, classes: null },
    georef,
    scaling: { scale: [1], offset: [0] },
    scalingSource: 'default',
    timingsMs: { decode: 0, infer: 0 },
    ...(tags ? { tags } : {}),
  });

  it('a scene a PNG suits: full-resolution PNG, the COG only when georeferenced and wanted', async () => {
    const geo = await encodeMasks(result(600, 300, GEOREF, { SOURCE: 'test' }), { geotiff: true });
    assert.equal(geo.pngScale, 1);
    const meta = await sharp(geo.png).metadata();
    assert.deepEqual([meta.width, meta.height], [600, 300]);
    const [main, overview] = await images(geo.geotiff!);
    assert.deepEqual([main!.getWidth(), overview!.getWidth()], [600, 300]);
    assert.equal((await encodeMasks(result(600, 300, null), { geotiff: true })).geotiff, null);
    assert.equal((await encodeMasks(result(600, 300, GEOREF), { geotiff: false })).geotiff, null);
  });

  it('above the threshold: the PNG is the COG overview of pngScale, and the COG is written even without georeference or wish', async () => {
    const width = QUICK_LOOK_MAX_SIDE + 100;
    const height = 40;
    const encoded = await encodeMasks(result(width, height, null), { geotiff: false });
    assert.equal(encoded.pngScale, 2);
    const { data: png, info } = await sharp(encoded.png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [Math.ceil(width / 2), height / 2, 1]);
    const read = await images(encoded.geotiff!);
    assert.deepEqual([read[0]!.getWidth(), read[0]!.getHeight()], [width, height]);
    assert.deepEqual(Array.from(png), await pixels(read[1]!), 'the quick-look equals the COG overview at factor 2');
    assert.deepEqual(await pixels(read[0]!), Array.from(patternMask(width, height), asMaskValue), 'the COG holds the full mask');
  });
});

describe('encodeOverlayPng quick-look', () => {
  it('above the threshold: block means of the image, the tint from the mask mode, mask given full or at quick-look size', async () => {
    const width = QUICK_LOOK_MAX_SIDE + 4;
    const height = 4;
    // one band, a ramp across; nodata (0) on the first column
    const data = Float32Array.from({ length: width * height }, (_, i) => (i % width === 0 ? 0 : 1 + (i % width)));
    const raster: Raster = { width, height, bands: 1, dtype: 'float32', data, georef: null, fileScaling: null, noData: 0 };
    const mask = new Uint8Array(width * height);
    mask.fill(CLOUD, 0, width * 2); // top two rows cloud: the top quick-look row is tinted
    const png = await encodeOverlayPng(raster, { scale: [1], offset: [0] }, mask);
    const { data: rgb, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [width / 2, height / 2]);
    const px = (x: number, y: number) => Array.from(rgb.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
    const [r, g, b] = px(1000, 0);
    assert.ok(r! > g! && b! > g!, `cloud row tinted, got ${[r, g, b]}`);
    const [r1, g1, b1] = px(1000, 1);
    assert.ok(r1 === g1 && g1 === b1, 'clear row stays grey');
    assert.ok(px(1500, 1)[0]! > px(500, 1)[0]!, 'the ramp survives the block means');
    // the PNG mask of a big scene (already the quick-look's size) gives the same picture
    const quick = new Uint8Array((width / 2) * (height / 2));
    quick.fill(CLOUD, 0, width / 2);
    assert.deepEqual(await encodeOverlayPng(raster, { scale: [1], offset: [0] }, quick), png);
  });
});
