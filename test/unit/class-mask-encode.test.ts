// Class masks written the way the card describes them, checked by reading the outputs back: the
// palette PNG (fast-png for the raw indices and palette, libvips for the colours a viewer shows),
// the COG (geotiff.js: values at every level, colour map, nodata, class names), mode overviews that
// keep classes, coloured overlays, and cloud-legend outputs unchanged by the new argument.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { decode } from 'fast-png';
import { fromArrayBuffer, type GeoTIFFImage } from 'geotiff';
import sharp from 'sharp';
import { encodeMaskCog, encodeMaskPng, encodeOverlayPng } from '../../shared/imaging/encode.js';
import { halveMask, maskAtScale, maskOverviews, QUICK_LOOK_MAX_SIDE, type MaskLevel } from '../../shared/imaging/mask-overviews.js';
import { CLASS_MASK_NODATA, CLOUD_LEGEND, type MaskLegend } from '../../shared/imaging/mask-values.js';
import type { Georeference, Raster } from '../../shared/imaging/types.js';
import { encodeMasks, type MaskResult } from '../../shared/worker/segment-image.js';

const GEOREF: Georeference = {
  geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, GTCitationGeoKey: 'WGS 84 / UTM zone 36S', ProjectedCSTypeGeoKey: 32736 },
  modelTiepoint: [0, 0, 0, 446235, 9705660, 0],
  modelPixelScale: [10, 10, 0],
  modelTransformation: null,
};

// Values with gaps, one at 128 (the cloud mask's nodata) and one above it: a class mask must keep
// all of them, where the cloud mask's folding would make 1, 2, 3 and 200 a 255 (class nodata).
const LEGEND: MaskLegend = {
  kind: 'classes',
  nodata: CLASS_MASK_NODATA,
  classes: [
    { value: 0, name: 'clear', kind: 'clear', rgb: [34, 139, 34] },
    { value: 1, name: 'cloud', kind: 'cloud', rgb: [250, 250, 250] },
    { value: 2, name: 'thin cloud', kind: 'thin-cloud', rgb: [0, 191, 255] },
    { value: 3, name: 'shadow', kind: 'shadow', rgb: [105, 105, 105] },
    { value: 128, name: 'water', kind: 'water', rgb: [0, 0, 205] },
    { value: 200, name: 'snow & ice', kind: 'snow', rgb: [255, 0, 255] },
  ],
};
const VALUES = LEGEND.classes.map((c) => c.value);
const NODATA = CLASS_MASK_NODATA;

// Every class in patches of several sizes, a nodata margin on the left, and stray single pixels.
function classMask(width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const patch = ((x >> 5) * 3 + (y >> 4) * 5) % VALUES.length;
      const speck = ((x * 31) ^ (y * 17)) % 89 === 0;
      out[y * width + x] = x < 37 ? NODATA : VALUES[speck ? (patch + 2) % VALUES.length : patch]!;
    }
  }
  return out;
}

// The mode of the block's existing pixels in scan order, ties to the first, on raw values:
// written independently of halveMask.
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
        if (sx < level.width && sy < level.height) seen.push(level.data[sy * level.width + sx]!);
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

async function pixels(image: GeoTIFFImage): Promise<Uint8Array> {
  const [band] = (await image.readRasters()) as unknown as ArrayLike<number>[];
  return Uint8Array.from(band!);
}

// GDAL_METADATA dataset items and the band description, unescaped the way GDAL reads them.
function metadataItems(xml: string): { items: Record<string, string>; description: string | undefined } {
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const items: Record<string, string> = {};
  let description: string | undefined;
  for (const m of xml.matchAll(/<Item name="([^"]*)"([^>]*)>([^<]*)<\/Item>/g)) {
    if (m[2]!.includes('role="description"')) description = unescape(unescape(m[3]!));
    else if (!m[2]!.includes('sample=')) items[unescape(m[1]!)] = unescape(unescape(m[3]!));
  }
  return { items, description };
}

function countDiffering(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'same length');
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe('encodeMaskPng of a class mask: a palette PNG', () => {
  const width = 97;
  const height = 41;
  const mask = classMask(width, height);

  it('is 8-bit colour type 3 whose raw indices are the class values', async () => {
    const png = await encodeMaskPng(mask, width, height, LEGEND);
    // IHDR: bit depth and colour type follow width and height (signature 8, length 4, type 4, 4 + 4).
    assert.deepEqual([png[24], png[25]], [8, 3], 'bit depth 8, colour type 3 (indexed)');
    const decoded = decode(png);
    assert.deepEqual([decoded.width, decoded.height, decoded.depth, decoded.channels], [width, height, 8, 1]);
    assert.equal(countDiffering(decoded.data, mask), 0, 'indices are the class values, nodata 255 included');
    assert.deepEqual([...new Set(decoded.data)].sort((a, b) => a - b), [...VALUES, NODATA]);
  });

  it('has the card colours at their values, black elsewhere, and only nodata transparent', async () => {
    const { palette } = decode(await encodeMaskPng(mask, width, height, LEGEND));
    assert.equal(palette?.length, 256);
    for (const c of LEGEND.classes) assert.deepEqual(palette![c.value], [...c.rgb, 255], `entry ${c.value} (${c.name})`);
    assert.deepEqual(palette![NODATA], [0, 0, 0, 0], 'nodata is transparent');
    assert.deepEqual(palette![4], [0, 0, 0, 255], 'an unused entry is opaque black');
    const transparent = palette!.flatMap((rgba, i) => (rgba[3] === 255 ? [] : [i]));
    assert.deepEqual(transparent, [NODATA], 'class 0 stays opaque (tRNS is indexed from 0)');
  });

  it('libvips (a viewer) sees the card colours and nodata as empty', async () => {
    const png = await encodeMaskPng(mask, width, height, LEGEND);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [width, height, 4]);
    const colour = new Map(LEGEND.classes.map((c) => [c.value, [...c.rgb, 255]]));
    let wrong = 0;
    for (let p = 0; p < mask.length; p++) {
      const got = Array.from(data.subarray(p * 4, p * 4 + 4));
      if (mask[p] === NODATA) wrong += got[3] === 0 ? 0 : 1;
      else wrong += countDiffering(got, colour.get(mask[p]!)!) === 0 ? 0 : 1;
    }
    assert.equal(wrong, 0, `${wrong} pixels show the wrong colour`);
  });

  it('refuses a mask of the wrong length', async () => {
    await assert.rejects(encodeMaskPng(new Uint8Array(10), 4, 4, LEGEND), RangeError);
  });
});

describe('halveMask / maskOverviews / maskAtScale of a class mask: mode on raw values', () => {
  it('keeps classes a cloud legend would fold, nodata a class of its own', () => {
    // 4x2: blocks [1 1 / 2 3] -> 1; [200 128 / 128 255] -> 128; ties and four classes go to top-left.
    const level = { width: 4, height: 2, data: Uint8Array.from([1, 1, 200, 128, 2, 3, 128, 255]) };
    assert.deepEqual(Array.from(halveMask(level, LEGEND).data), [1, 128]);
    assert.deepEqual(Array.from(halveMask(level).data), [255, 255], 'the cloud legend folds the same bytes (the default)');
    const ties = { width: 4, height: 2, data: Uint8Array.from([2, 3, 200, 1, 3, 2, 0, 128]) };
    assert.deepEqual(Array.from(halveMask(ties, LEGEND).data), [2, 200]);
    const mostlyNodata = { width: 2, height: 2, data: Uint8Array.from([NODATA, 3, NODATA, NODATA]) };
    assert.deepEqual(Array.from(halveMask(mostlyNodata, LEGEND).data), [NODATA]);
  });

  it('matches a brute-force mode at every level, odd sizes included, and every class survives', () => {
    const full = { width: 1301, height: 517, data: classMask(1301, 517) };
    const levels = maskOverviews(full, LEGEND);
    assert.deepEqual(levels.map((l) => [l.width, l.height]), [[651, 259], [326, 130]]);
    let expected: MaskLevel = full;
    for (const [i, level] of levels.entries()) {
      expected = bruteHalve(expected);
      assert.equal(countDiffering(level.data, expected.data), 0, `level ${i + 1}`);
    }
    assert.deepEqual([...new Set(levels.at(-1)!.data)].sort((a, b) => a - b), [...VALUES, NODATA]);
    assert.deepEqual(maskAtScale(full, 4, LEGEND).data, levels[1]!.data);
  });
});

describe('encodeMaskCog of a class mask, read back with geotiff.js', () => {
  const width = 1100;
  const height = 700;
  const mask = classMask(width, height);
  const tags = { CLOUDSEG_MODEL: 'classes-v1', CLASS_1: 'overridden?' };

  it('holds the raw class values at full resolution and at each mode overview', async () => {
    const read = await images(await encodeMaskCog(mask, width, height, { georef: GEOREF, tags, legend: LEGEND }));
    assert.deepEqual(read.map((im) => [im.getWidth(), im.getHeight()]), [[1100, 700], [550, 350], [275, 175]]);
    let expected: MaskLevel = { width, height, data: mask };
    for (const [i, image] of read.entries()) {
      if (i > 0) expected = bruteHalve(expected);
      assert.equal(image.getGDALNoData(), NODATA, `level ${i} nodata`);
      assert.equal(countDiffering(await pixels(image), expected.data), 0, `level ${i} pixels`);
    }
    assert.deepEqual([...new Set(await pixels(read[2]!))].sort((a, b) => a - b), [...VALUES, NODATA]);
  });

  it('is a palette image with the card colours in its ColorMap on every level', async () => {
    const read = await images(await encodeMaskCog(mask, width, height, { georef: GEOREF, legend: LEGEND }));
    for (const [i, image] of read.entries()) {
      const fd = image.fileDirectory;
      assert.equal(fd.getValue('PhotometricInterpretation'), 3, `level ${i} photometric`);
      assert.ok(fd.hasTag('ColorMap'), `level ${i} has a ColorMap`);
      const map = Array.from((await fd.loadValue('ColorMap')) as ArrayLike<number>);
      assert.equal(map.length, 3 * 256);
      for (const c of LEGEND.classes) {
        assert.deepEqual([map[c.value], map[256 + c.value], map[512 + c.value]], c.rgb.map((v) => v * 257), `level ${i} class ${c.value}`);
      }
      assert.deepEqual([map[4], map[256 + 4], map[512 + 4]], [0, 0, 0], 'unused entries are black');
    }
  });

  it('names the classes in its metadata instead of the cloud values; the georeference and tags stay', async () => {
    const [main, ...rest] = await images(await encodeMaskCog(mask, width, height, { georef: GEOREF, tags, legend: LEGEND }));
    assert.deepEqual(main!.getOrigin(), [446235, 9705660, 0]);
    const { items, description } = metadataItems(String(await main!.fileDirectory.loadValue('GDAL_METADATA')));
    for (const c of LEGEND.classes) {
      assert.equal(items[`CLASS_${c.value}`], c.name);
      assert.equal(items[`CLASS_${c.value}_KIND`], c.kind);
    }
    assert.equal(items.CLASS_1, 'cloud', 'a tag cannot rename a class');
    assert.equal(items.CLOUDSEG_MODEL, 'classes-v1');
    assert.equal(Object.keys(items).filter((k) => k.startsWith('MASK_VALUE_')).length, 0, 'no cloud-mask items');
    assert.equal(description, 'class mask (0 clear, 1 cloud, 2 thin cloud, 3 shadow, 128 water, 200 snow & ice, 255 nodata)');
    for (const overview of rest) assert.equal(overview.fileDirectory.hasTag('GDAL_METADATA'), false);
  });

  it('pads the edge tiles with the class nodata, not the cloud mask\'s 128 (which is a class here)', async () => {
    const file = await encodeMaskCog(mask, width, height, { georef: null, legend: LEGEND });
    const [main] = await images(file);
    const offsets = Array.from((await main!.fileDirectory.loadValue('TileOffsets')) as ArrayLike<number>);
    const counts = Array.from((await main!.fileDirectory.loadValue('TileByteCounts')) as ArrayLike<number>);
    // The last tile (bottom right) holds 1100 - 1024 = 76 columns and 700 - 512 = 188 rows of image.
    const tile = inflateSync(file.subarray(offsets.at(-1)!, offsets.at(-1)! + counts.at(-1)!));
    assert.equal(tile.length, 512 * 512);
    assert.equal(tile[0], mask[512 * width + 1024], 'the image part is the mask');
    assert.equal(tile[100], NODATA, 'right of the image');
    assert.equal(tile[200 * 512], NODATA, 'below the image');
  });
});

describe('encodeOverlayPng of a class mask', () => {
  const width = 24;
  const height = 6;
  // one band, a left-to-right ramp: grey everywhere before tinting
  const raster: Raster = {
    width,
    height,
    bands: 1,
    dtype: 'float32',
    data: Float32Array.from({ length: width * height }, (_, i) => 1 + (i % width)),
    georef: null,
    fileScaling: null,
    noData: null,
  };
  const rowValues = [0, 1, 2, 128, NODATA, 77]; // clear, cloud, thin cloud, water, nodata, a value the card lacks

  it('tints each class with its colour at the cloud tint\'s alpha; clear, nodata and unknown values stay as the image is', async () => {
    const mask = Uint8Array.from({ length: width * height }, (_, i) => rowValues[Math.floor(i / width)]!);
    const plain = await sharp(await encodeOverlayPng(raster, { scale: [1], offset: [0] }, new Uint8Array(width * height), { legend: LEGEND })).raw().toBuffer();
    const { data: rgb, info } = await sharp(await encodeOverlayPng(raster, { scale: [1], offset: [0] }, mask, { legend: LEGEND })).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [width, height, 3]);
    for (const [row, value] of rowValues.entries()) {
      const colour = LEGEND.classes.find((c) => c.value === value);
      const tinted = colour !== undefined && colour.kind !== 'clear';
      for (let x = 0; x < width; x++) {
        const p = (row * width + x) * 3;
        for (let c = 0; c < 3; c++) {
          const grey = plain[p + c]!;
          const want = tinted ? grey * 0.55 + colour.rgb[c]! * 0.45 : grey;
          assert.ok(Math.abs(rgb[p + c]! - want) <= 1, `row ${row} (value ${value}) x ${x} channel ${c}: ${rgb[p + c]} vs ${want}`);
        }
      }
    }
  });

  it('above the quick-look size takes the mask mode without folding, given full or at quick-look size', async () => {
    const big: Raster = { ...raster, width: QUICK_LOOK_MAX_SIDE + 4, height: 4, data: Float32Array.from({ length: (QUICK_LOOK_MAX_SIDE + 4) * 4 }, () => 5) };
    const mask = new Uint8Array(big.width * big.height).fill(0);
    mask.fill(2, 0, big.width * 2); // top two rows thin cloud: folded they would be 255, nodata, untinted
    const png = await encodeOverlayPng(big, { scale: [1], offset: [0] }, mask, { legend: LEGEND });
    const { data: rgb, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [big.width / 2, 2]);
    const [r, g, b] = Array.from(rgb.subarray(0, 3));
    assert.ok(b! > r! && g! > r!, `the thin-cloud row is tinted blue, got ${[r, g, b]}`);
    const [r1, g1, b1] = Array.from(rgb.subarray(info.width * 3, info.width * 3 + 3));
    assert.ok(r1 === g1 && g1 === b1, 'the clear row stays grey');
    const quick = new Uint8Array(info.width * info.height);
    quick.fill(2, 0, info.width);
    assert.deepEqual(await encodeOverlayPng(big, { scale: [1], offset: [0] }, quick, { legend: LEGEND }), png);
  });
});

describe('encodeMasks passes the legend through', () => {
  const result = (width: number, height: number): MaskResult => ({
    width,
    height,
    mask: classMask(width, height),
    legend: LEGEND,
    cloudFraction: 0.3,
    summary: { validPixels: width * height, cloudFraction: 0.3, shadowFraction: 0.1, classes: [] },
    georef: GEOREF,
    scaling: { scale: [1], offset: [0] },
    scalingSource: 'default',
    timingsMs: { decode: 0, infer: 0 },
  });

  it('a full-size palette PNG and a palette COG', async () => {
    const r = result(600, 300);
    const encoded = await encodeMasks(r, { geotiff: true });
    const png = decode(encoded.png);
    assert.equal(png.palette?.length, 256);
    assert.equal(countDiffering(png.data, r.mask), 0);
    const [main, overview] = await images(encoded.geotiff!);
    assert.equal(main!.fileDirectory.getValue('PhotometricInterpretation'), 3);
    assert.equal(countDiffering(await pixels(main!), r.mask), 0);
    assert.equal(countDiffering(await pixels(overview!), bruteHalve({ width: 600, height: 300, data: r.mask }).data), 0);
  });

  it('above the quick-look size: the PNG is the COG\'s class overview, classes kept', async () => {
    const r = result(QUICK_LOOK_MAX_SIDE + 100, 40);
    const encoded = await encodeMasks(r, { geotiff: false });
    assert.equal(encoded.pngScale, 2);
    const png = decode(encoded.png);
    const read = await images(encoded.geotiff!);
    assert.equal(countDiffering(png.data, await pixels(read[1]!)), 0, 'the quick-look equals the COG overview at factor 2');
    assert.deepEqual([...new Set(png.data)].sort((a, b) => a - b), [...VALUES, NODATA]);
  });
});

describe('the cloud legend writes what the default writes', () => {
  const width = 1100;
  const height = 600;
  // 0, 255, 128 and stray bytes (7) that the cloud mask folds to cloud
  const mask = Uint8Array.from({ length: width * height }, (_, i) => [0, 255, 128, 7][((i % width) >> 4) % 4]!);
  const raster: Raster = {
    width,
    height,
    bands: 3,
    dtype: 'float32',
    data: Float32Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 1000),
    georef: null,
    fileScaling: null,
    noData: null,
  };

  it('PNG: the same grey PNG of MASK_VALUES', async () => {
    const png = await encodeMaskPng(mask, width, height, CLOUD_LEGEND);
    assert.ok(png.equals(await encodeMaskPng(mask, width, height)));
    assert.equal(png[25], 0, 'colour type 0 (grey), no palette');
    assert.deepEqual([...new Set(await sharp(png).toColourspace('b-w').raw().toBuffer())].sort((a, b) => a - b), [0, 128, 255]);
  });

  it('COG: the same bytes, BlackIsZero without a ColorMap, the MASK_VALUE items', async () => {
    const tif = await encodeMaskCog(mask, width, height, { georef: GEOREF, legend: CLOUD_LEGEND });
    assert.ok(tif.equals(await encodeMaskCog(mask, width, height, { georef: GEOREF })));
    const [main] = await images(tif);
    assert.equal(main!.fileDirectory.getValue('PhotometricInterpretation'), 1);
    assert.equal(main!.fileDirectory.hasTag('ColorMap'), false);
    assert.equal(main!.getGDALNoData(), 128);
    const { items } = metadataItems(String(await main!.fileDirectory.loadValue('GDAL_METADATA')));
    assert.deepEqual([items.MASK_VALUE_CLEAR, items.MASK_VALUE_CLOUD, items.MASK_VALUE_NODATA], ['0', '255', '128']);
  });

  it('overviews and overlays: the same as the default', async () => {
    const full = { width, height, data: mask };
    const levels = maskOverviews(full, CLOUD_LEGEND);
    assert.deepEqual(levels, maskOverviews(full));
    assert.deepEqual([...new Set(levels[0]!.data)].sort((a, b) => a - b), [0, 128, 255], 'the cloud legend folds 7 to 255');
    const overlay = await encodeOverlayPng(raster, { scale: [1], offset: [0] }, mask, { legend: CLOUD_LEGEND });
    assert.ok(overlay.equals(await encodeOverlayPng(raster, { scale: [1], offset: [0] }, mask)));
  });
});
