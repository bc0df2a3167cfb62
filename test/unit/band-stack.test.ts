// The band stack over real tiled GeoTIFF band files on disk: the model input of a window, the
// valid mask, and the refusals that must come from the headers before any pixel is read.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromArrayBuffer } from 'geotiff';
import sharp from 'sharp';
import { CloudsegError } from '../../shared/errors.js';
import { checkMemoryBudget } from '../../shared/imaging/memory-budget.js';
import { bytesRangeSource, fileRangeSource, RangeSource } from '../../shared/imaging/range-source.js';
import { openBandStack, type StackBand } from '../../shared/scenes/band-stack.js';
import type { SceneBand, SceneGrid } from '../../shared/scenes/types.js';
import { bandValue, UTM_33N, writeBandFile } from '../integration/scene-band-files.js';

const NAMES = ['blue', 'green', 'red', 'nir'] as const;
const SCALE = [2.75e-5, 2.8e-5, 2.9e-5, 3e-5];
const OFFSET = [-0.2, -0.19, -0.18, -0.17];

function sceneBand(band: string, path: string, i: number, sample = 0, noData: number | null = 0): SceneBand {
  return { band, href: path, location: { kind: 'file', path }, sample, scale: SCALE[i]!, offset: OFFSET[i]!, noData };
}

describe('band stack', () => {
  let dir: string;
  const paths: string[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spipe-band-stack-'));
    for (const [i, b] of NAMES.entries()) paths.push(await writeBandFile(dir, `${b}.tif`, {}, (x, y) => bandValue(i, x, y)));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const open = async (entries: { band: SceneBand; path: string }[]): Promise<StackBand[]> =>
    Promise.all(entries.map(async (e) => ({ band: e.band, source: await fileRangeSource(e.path) })));

  test('a window is each band scaled, in the stack order, fill pixels are nodata', async () => {
    const bands = await open(NAMES.map((b, i) => ({ band: sceneBand(b, paths[i]!, i), path: paths[i]! })));
    const stack = await openBandStack(bands, { label: 'item.json' });
    assert.deepEqual([stack.header.width, stack.header.height, stack.header.bands], [700, 600, 4]);
    assert.deepEqual(stack.header.dtypes, ['uint16', 'uint16', 'uint16', 'uint16']);
    assert.deepEqual(stack.georef, UTM_33N);
    // Straddles the fill border (x < 40) and a tile edge (256).
    const window = { x: 20, y: 240, width: 300, height: 40 };
    const read = await stack.readWindow(window);
    assert.equal(read.input.length, 300 * 40 * 4);
    let expectedValid = 0;
    for (let y = 0; y < window.height; y++) {
      for (let x = 0; x < window.width; x++) {
        const gx = window.x + x;
        const gy = window.y + y;
        const p = y * window.width + x;
        const inside = gx >= 40 && gx < 660 && gy >= 40 && gy < 560;
        assert.equal(read.valid[p], inside ? 1 : 0, `valid at ${gx},${gy}`);
        expectedValid += inside ? 1 : 0;
        for (let b = 0; b < 4; b++) {
          const want = inside ? Math.fround(bandValue(b, gx, gy) * SCALE[b]! + OFFSET[b]!) : 0;
          assert.equal(read.input[p * 4 + b], want, `band ${b} at ${gx},${gy}`);
        }
      }
    }
    assert.equal(read.validCount, expectedValid);
    assert.ok(expectedValid > 0 && expectedValid < 300 * 40);
  });

  test('the order is the scene\'s, not the files\': swapped bands swap in the input', async () => {
    const bands = await open([
      { band: sceneBand('blue', paths[3]!, 0), path: paths[3]! },
      { band: sceneBand('green', paths[0]!, 1), path: paths[0]! },
    ]);
    const stack = await openBandStack(bands, { label: 'swapped' });
    const read = await stack.readWindow({ x: 100, y: 100, width: 2, height: 1 });
    assert.equal(read.input[0], Math.fround(bandValue(3, 100, 100) * SCALE[0]! + OFFSET[0]!));
    assert.equal(read.input[1], Math.fround(bandValue(0, 100, 100) * SCALE[1]! + OFFSET[1]!));
  });

  test('nodata in one band only makes the pixel nodata, and that sample 0 in the input', async () => {
    // The red band has a hole (its nodata) where the others hold data.
    const holed = await writeBandFile(dir, 'red-holed.tif', {}, (x, y) => (x >= 300 && x < 310 && y >= 300 && y < 305 ? 0 : bandValue(2, x, y)));
    const files = [paths[0]!, paths[1]!, holed, paths[3]!];
    const stack = await openBandStack(await open(NAMES.map((b, i) => ({ band: sceneBand(b, files[i]!, i), path: files[i]! }))), { label: 'holed' });
    const read = await stack.readWindow({ x: 295, y: 300, width: 20, height: 5 });
    for (let x = 0; x < 20; x++) {
      const inHole = x + 295 >= 300 && x + 295 < 310;
      assert.equal(read.valid[x], inHole ? 0 : 1, `x ${x + 295}`);
      assert.equal(read.input[x * 4 + 2] === 0, inHole);
      assert.notEqual(read.input[x * 4 + 0], 0, 'the other bands keep their values');
    }
    assert.equal(read.validCount, 100 - 50);
  });

  test('a descriptor nodata other than the file\'s is the one used', async () => {
    const bands = await open(NAMES.map((b, i) => ({ band: sceneBand(b, paths[i]!, i, 0, bandValue(i, 100, 100)), path: paths[i]! })));
    const stack = await openBandStack(bands, { label: 'nd' });
    const read = await stack.readWindow({ x: 99, y: 100, width: 3, height: 1 });
    assert.deepEqual([...read.valid], [1, 0, 1]);
  });

  test('a multi-sample asset gives the sample named, beside single-band files', async () => {
    const rgb = await writeBandFile(dir, 'visual.tif', { samples: 3 }, (x, y, s) => bandValue(s, x, y));
    const entries = [
      { band: sceneBand('blue', rgb, 0, 2), path: rgb },
      { band: sceneBand('green', rgb, 1, 1), path: rgb },
      { band: sceneBand('red', rgb, 2, 0), path: rgb },
      { band: sceneBand('nir', paths[3]!, 3), path: paths[3]! },
    ];
    const stack = await openBandStack(await open(entries), { label: 'visual' });
    assert.equal(stack.header.bytesPerPixelRead, 6, 'three uint16 samples read per pixel of the visual asset');
    const read = await stack.readWindow({ x: 400, y: 410, width: 1, height: 1 });
    const expected = [2, 1, 0, 3].map((src, b) => Math.fround(bandValue(src, 400, 410) * SCALE[b]! + OFFSET[b]!));
    assert.deepEqual([...read.input], expected);
  });

  test('a sample the file does not have is SCENE_INVALID', async () => {
    const bands = await open([{ band: sceneBand('blue', paths[0]!, 0, 1), path: paths[0]! }]);
    await assert.rejects(openBandStack(bands, { label: 'item.json' }), (err: unknown) => err instanceof CloudsegError && err.code === 'SCENE_INVALID' && /sample 1/.test(err.message));
  });

  test('a band object that is neither TIFF nor JPEG 2000 is UNSUPPORTED_FORMAT naming the band, not a parser message', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
    const bands = await open([{ band: sceneBand('blue', paths[0]!, 0), path: paths[0]! }]);
    bands.push({ band: sceneBand('green', 'green.jp2', 1), source: bytesRangeSource(png) });
    await assert.rejects(
      openBandStack(bands, { label: 'item.json' }),
      (err: unknown) => err instanceof CloudsegError && err.code === 'UNSUPPORTED_FORMAT' && /band green \(green\.jp2\) is neither a TIFF\/GeoTIFF nor JPEG 2000/.test(err.message),
    );
  });

  test('every value of noDataValues is nodata (a SAFE product\'s NODATA 0 and SATURATED 65535)', async () => {
    const saturated = await writeBandFile(dir, 'red-saturated.tif', {}, (x, y) => (x >= 200 && x < 204 && y === 300 ? 65535 : bandValue(2, x, y)));
    const files = [paths[0]!, paths[1]!, saturated, paths[3]!];
    const bands = await open(NAMES.map((b, i) => ({ band: { ...sceneBand(b, files[i]!, i), noDataValues: [0, 65535] }, path: files[i]! })));
    const stack = await openBandStack(bands, { label: 'MTD_MSIL1C.xml' });
    const read = await stack.readWindow({ x: 199, y: 300, width: 6, height: 1 });
    assert.deepEqual([...read.valid], [1, 0, 0, 0, 0, 1]);
    assert.equal(read.input[1 * 4 + 2], 0, 'a saturated sample is 0 in the input');
    const edge = await stack.readWindow({ x: 39, y: 300, width: 2, height: 1 });
    assert.deepEqual([...edge.valid], [0, 1], 'and 0 still is');
  });

  describe('on the product\'s own grid (a SAFE granule\'s MTD_TL.xml)', () => {
    const grid = (crs: string, epsg: number): SceneGrid => ({
      source: 'GRANULE/g/MTD_TL.xml',
      crs,
      epsg,
      resolutions: [
        { resolutionM: 30, width: 700, height: 600, georef: { ...UTM_33N, geoKeys: { ...UTM_33N.geoKeys, ProjectedCSTypeGeoKey: epsg } } },
        { resolutionM: 60, width: 350, height: 300, georef: { ...UTM_33N, geoKeys: { ...UTM_33N.geoKeys, ProjectedCSTypeGeoKey: epsg }, modelPixelScale: [60, 60, 0] } },
      ],
    });

    test('bands without a georeference take the grid\'s for their size, beside bands with one; a coarse one is upsampled', async () => {
      const bare = await writeBandFile(dir, 'blue-bare.tif', { georef: null }, (x, y) => bandValue(0, x, y));
      const bareCoarse = await writeBandFile(dir, 'nir-bare-60m.tif', { width: 350, height: 300, border: 20, georef: null }, (x, y) => bandValue(3, x, y));
      const files = [bare, paths[1]!, paths[2]!, bareCoarse];
      const stack = await openBandStack(await open(NAMES.map((b, i) => ({ band: sceneBand(b, files[i]!, i), path: files[i]! }))), { label: 'MTD_MSIL1C.xml', grid: grid('EPSG:32633', 32633) });
      assert.deepEqual(stack.georef, grid('EPSG:32633', 32633).resolutions[0]!.georef);
      const read = await stack.readWindow({ x: 100, y: 101, width: 1, height: 1 });
      assert.equal(read.input[3], Math.fround(bandValue(3, 50, 50) * SCALE[3]! + OFFSET[3]!));
    });

    test('a band whose own CRS is not the grid\'s is SCENE_INVALID naming both', async () => {
      const bands = await open(NAMES.map((b, i) => ({ band: sceneBand(b, paths[i]!, i), path: paths[i]! })));
      await assert.rejects(openBandStack(bands, { label: 'MTD_MSIL1C.xml', grid: grid('EPSG:32632', 32632) }), (err: unknown) => {
        assert.ok(err instanceof CloudsegError && err.code === 'SCENE_INVALID', String(err));
        assert.match(err.message, /MTD_TL\.xml places the tile in EPSG:32632 but MTD_MSIL1C\.xml band blue \(.*blue\.tif\) \(its GeoTIFF keys\) says EPSG:32633/);
        return true;
      });
    });

    test('a band of a size the grid does not have is SCENE_INVALID', async () => {
      const odd = await writeBandFile(dir, 'blue-odd.tif', { width: 500, height: 400, georef: null }, (x, y) => bandValue(0, x, y));
      const bands = await open([{ band: sceneBand('blue', odd, 0), path: odd }]);
      await assert.rejects(
        openBandStack(bands, { label: 'MTD_MSIL1C.xml', grid: grid('EPSG:32633', 32633) }),
        (err: unknown) => err instanceof CloudsegError && err.code === 'SCENE_INVALID' && /500x400 pixels; GRANULE\/g\/MTD_TL\.xml gives the tile as 700x600 at 30 m, 350x300 at 60 m/.test(err.message),
      );
    });
  });

  test('bands of different sizes are SCENE_INVALID naming the bands and sizes, no pixel read', async () => {
    const small = await writeBandFile(dir, 'nir-small.tif', { width: 350, height: 300 }, (x, y) => bandValue(3, x, y));
    const files = [paths[0]!, paths[1]!, paths[2]!, small];
    const bands = await open(NAMES.map((b, i) => ({ band: sceneBand(b, files[i]!, i), path: files[i]! })));
    const ranges = recordReads(bands);
    await assert.rejects(openBandStack(bands, { label: 'item.json' }), (err: unknown) => {
      assert.ok(err instanceof CloudsegError && err.code === 'SCENE_INVALID', String(err));
      assert.match(err.message, /blue 700x600/);
      assert.match(err.message, /nir 350x300/);
      return true;
    });
    await assertNoPixelRead(bands, files, ranges);
  });

  test('bands on different grids are SCENE_INVALID', async () => {
    const shifted = await writeBandFile(dir, 'red-shifted.tif', { georef: { ...UTM_33N, modelTiepoint: [0, 0, 0, 399990, 5000040, 0] } }, (x, y) => bandValue(2, x, y));
    const files = [paths[0]!, paths[1]!, shifted, paths[3]!];
    const bands = await open(NAMES.map((b, i) => ({ band: sceneBand(b, files[i]!, i), path: files[i]! })));
    await assert.rejects(openBandStack(bands, { label: 'item.json' }), (err: unknown) => err instanceof CloudsegError && err.code === 'SCENE_INVALID' && /georeference/.test(err.message) && /red/.test(err.message));
  });

  test('a band at half the resolution (20 m in a 10 m stack) is upsampled by nearest neighbour onto the fine grid', async () => {
    // nir at 60 m over 350x300 pixels: each of its pixels covers 2x2 of the 30 m bands.
    const coarseGeoref = { ...UTM_33N, modelPixelScale: [60, 60, 0] };
    const coarse = await writeBandFile(dir, 'nir-60m.tif', { width: 350, height: 300, border: 20, georef: coarseGeoref }, (x, y) => bandValue(3, x, y));
    const files = [paths[0]!, paths[1]!, paths[2]!, coarse];
    const stack = await openBandStack(await open(NAMES.map((b, i) => ({ band: sceneBand(b, files[i]!, i), path: files[i]! }))), { label: 'mixed' });
    assert.deepEqual([stack.header.width, stack.header.height], [700, 600]);
    assert.deepEqual(stack.georef, UTM_33N, 'the mask is on the finest grid');
    // An odd origin and size, straddling coarse pixels and the coarse band's fill border (40 fine = 20 coarse).
    const window = { x: 33, y: 101, width: 57, height: 9 };
    const read = await stack.readWindow(window);
    for (let y = 0; y < window.height; y++) {
      for (let x = 0; x < window.width; x++) {
        const gx = window.x + x;
        const gy = window.y + y;
        const p = y * window.width + x;
        const cx = Math.floor(gx / 2);
        const cy = Math.floor(gy / 2);
        const coarseInside = cx >= 20 && cy >= 20 && cx < 330 && cy < 280;
        assert.equal(read.input[p * 4 + 3], coarseInside ? Math.fround(bandValue(3, cx, cy) * SCALE[3]! + OFFSET[3]!) : 0, `nir at ${gx},${gy}`);
        assert.equal(read.input[p * 4], gx >= 40 ? Math.fround(bandValue(0, gx, gy) * SCALE[0]! + OFFSET[0]!) : 0, `blue at ${gx},${gy}`);
        assert.equal(read.valid[p], gx >= 40 && coarseInside ? 1 : 0);
      }
    }
  });

  test('sizes that are no integer fraction, or a coarse band whose pixel size does not match the ratio, are SCENE_INVALID', async () => {
    const odd = await writeBandFile(dir, 'nir-odd.tif', { width: 500, height: 400 }, (x, y) => bandValue(3, x, y));
    const files = [paths[0]!, odd];
    const bands = await open([{ band: sceneBand('blue', files[0]!, 0), path: files[0]! }, { band: sceneBand('nir', files[1]!, 3), path: files[1]! }]);
    await assert.rejects(openBandStack(bands, { label: 'odd' }), (err: unknown) => err instanceof CloudsegError && err.code === 'SCENE_INVALID' && /one size/.test(err.message));
    // Half the pixels but the same 30 m pixel size: half the area, not a coarser grid.
    const half = await writeBandFile(dir, 'nir-half-area.tif', { width: 350, height: 300 }, (x, y) => bandValue(3, x, y));
    const halfBands = await open([{ band: sceneBand('blue', paths[0]!, 0), path: paths[0]! }, { band: sceneBand('nir', half, 3), path: half }]);
    await assert.rejects(openBandStack(halfBands, { label: 'half' }), (err: unknown) => err instanceof CloudsegError && err.code === 'SCENE_INVALID' && /georeference/.test(err.message));
  });

  test('a stack over the memory budget is refused from the headers, before any pixel is read', async () => {
    const bands = await open(NAMES.map((b, i) => ({ band: sceneBand(b, paths[i]!, i), path: paths[i]! })));
    const ranges = recordReads(bands);
    const seen: number[] = [];
    await assert.rejects(
      openBandStack(bands, {
        label: 'big',
        blockCacheBytes: 4 * 1024 * 1024,
        admit: (header, cacheBytes) => {
          seen.push(cacheBytes);
          // 3 MiB: the first band's share of the cache (1 MiB) fits, the stack's does not.
          checkMemoryBudget('big', header.width, header.height, cacheBytes, 3 * 1024 * 1024);
        },
      }),
      (err: unknown) => err instanceof CloudsegError && err.code === 'IMAGE_TOO_LARGE',
    );
    assert.deepEqual(seen, [1, 2, 3, 4].map((n) => n * 1024 * 1024), 'the block caches of the bands add up');
    await assertNoPixelRead(bands, paths, ranges);
  });
});

// Wraps each band's source so every range it reads is recorded.
function recordReads(bands: StackBand[]): [number, number][][] {
  return bands.map((b, i) => {
    const ranges: [number, number][] = [];
    const inner = b.source;
    bands[i] = { ...b, source: new RangeSource(inner.size, async (start, end) => (ranges.push([start, end]), inner.read(start, end))) };
    return ranges;
  });
}

// No tile is fetched: the header reads start before the first tile (geotiff's first read takes a
// fixed 1 KiB from 0, which may run into it), and no read starts at a tile.
async function assertNoPixelRead(bands: StackBand[], files: string[], ranges: [number, number][][]): Promise<void> {
  for (const [i, path] of files.entries()) {
    const bytes = await readFile(path);
    const tiff = await fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const offsets = (await (await tiff.getImage(0)).getFileDirectory().loadValue('TileOffsets')) as ArrayLike<number>;
    const tiles = new Set(Array.from(offsets));
    const firstTile = Math.min(...tiles);
    for (const [start] of ranges[i]!) {
      assert.ok(start < firstTile && !tiles.has(start), `${bands[i]!.band.band}: a read from ${start}, the first tile starts at ${firstTile}`);
    }
  }
}
