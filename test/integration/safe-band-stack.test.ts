// The band stack over a SAFE product's JPEG 2000 bands (GDAL writes them at test time): bands
// without any georeferencing box placed on the granule's grid, a 20 m band upsampled onto the 10 m
// one, NODATA and SATURATED both nodata, the values bit for bit those of the GeoTIFFs they came from;
// and flush's pixel count of a product whose bands are there, not there yet, or not at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { objectDownloader } from '../../shared/cloud/object-download.js';
import type { BatchItem } from '../../shared/contracts/batch.js';
import { probePixels, SENTINEL2_TILE_PIXELS } from '../../shared/flush/pixel-probe.js';
import { fileRangeSource } from '../../shared/imaging/range-source.js';
import type { ScalingPresetTable } from '../../shared/imaging/scaling.js';
import { createLogger } from '../../shared/logging.js';
import { openBandStack } from '../../shared/scenes/band-stack.js';
import { describeSceneReading } from '../../shared/scenes/describe-scene.js';
import type { SceneDescription } from '../../shared/scenes/types.js';
import { BORDER_10M, buildSafeProduct, GDAL_JP2_MISSING, SAFE_GRID_10M, SAFE_SIZE, SATURATED_RECT, safeBandValue, type SafeProduct } from '../support/safe-products.js';

if (GDAL_JP2_MISSING) console.warn(`!!! SKIPPING SAFE JPEG 2000 band stack checks: ${GDAL_JP2_MISSING}`);

let dir: string;
let product: SafeProduct;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spipe-safe-stack-'));
  if (!GDAL_JP2_MISSING) product = await buildSafeProduct(join(dir, 'p'), { fixture: 'l1c-05.10', boxes: 'none', saturated: true });
});
after(() => rm(dir, { recursive: true, force: true }));

async function describe2(descriptor: string, cardBands: string[]): Promise<SceneDescription> {
  return describeSceneReading(
    { location: { kind: 'file', path: descriptor }, bytes: await readFile(descriptor), cardBands, presets: {} as ScalingPresetTable, defaultPreset: 'none' },
    async (location) => (location.kind === 'file' ? readFile(location.path).catch(() => null) : null),
  );
}

describe('SAFE JPEG 2000 band stack', { skip: GDAL_JP2_MISSING }, () => {
  test('JP2s without boxes lie on the granule grid; 20 m upsampled; NODATA and SATURATED are nodata; values are the GeoTIFFs\'', async () => {
    const scene = await describe2(product.descriptor, ['red', 'swir1']);
    assert.deepEqual(scene.bands.map((b) => b.noDataValues), [[0, 65535], [0, 65535]]);
    const sources = await Promise.all(scene.bands.map((b) => fileRangeSource((b.location as { path: string }).path)));
    try {
      const stack = await openBandStack(scene.bands.map((band, i) => ({ band, source: sources[i]! })), { label: 'product', grid: scene.grid! });
      assert.deepEqual([stack.header.width, stack.header.height], [SAFE_SIZE.width, SAFE_SIZE.height]);
      assert.deepEqual(stack.georef, SAFE_GRID_10M, 'the mask gets the granule\'s 10 m grid');
      // Across the saturated patch, a JP2 tile edge (128) and the fill border.
      const window = { x: 120, y: 110, width: 50, height: 30 };
      const read = await stack.readWindow(window);
      const [red, swir] = scene.bands;
      let saturated = 0;
      for (let y = 0; y < window.height; y++) {
        for (let x = 0; x < window.width; x++) {
          const gx = window.x + x;
          const gy = window.y + y;
          const p = y * window.width + x;
          const r = safeBandValue('B04', gx, gy, true);
          const s = safeBandValue('B11', Math.floor(gx / 2), Math.floor(gy / 2), false);
          const valid = r !== 65535;
          saturated += valid ? 0 : 1;
          assert.equal(read.valid[p], valid ? 1 : 0, `valid at ${gx},${gy}`);
          assert.equal(read.input[p * 2], valid ? Math.fround(r * red!.scale + red!.offset) : 0, `red at ${gx},${gy}`);
          assert.equal(read.input[p * 2 + 1], Math.fround(s * swir!.scale + swir!.offset), `swir1 at ${gx},${gy}`);
        }
      }
      assert.equal(saturated, SATURATED_RECT.width * SATURATED_RECT.height);
      const edge = await stack.readWindow({ x: BORDER_10M - 1, y: 100, width: 2, height: 1 });
      assert.deepEqual([...edge.valid], [0, 1], 'NODATA 0 along the border');
    } finally {
      await Promise.all(sources.map((s) => s.close()));
    }
  });

  test('without a grid (a STAC item of JP2 assets) a JP2 without boxes has no georeference', async () => {
    const scene = await describe2(product.descriptor, ['blue', 'green']);
    const sources = await Promise.all(scene.bands.map((b) => fileRangeSource((b.location as { path: string }).path)));
    try {
      const stack = await openBandStack(scene.bands.map((band, i) => ({ band, source: sources[i]! })), { label: 'item' });
      assert.equal(stack.georef, null);
    } finally {
      await Promise.all(sources.map((s) => s.close()));
    }
  });
});

describe('flush pixel probe of a SAFE product', { skip: GDAL_JP2_MISSING }, () => {
  const BUCKET = 'safe-probe';
  let server: GcsServer;
  let storage: Storage;
  before(async () => {
    server = await startGcsServer({ rootDir: join(dir, 'gcs'), projectId: 'p' });
    await server.createBucket(BUCKET);
    storage = new Storage({ projectId: 'p', apiEndpoint: server.url, retryOptions: { autoRetry: false } });
  });
  after(() => server.stop());

  const upload = async (prefix: string, relative: string): Promise<BatchItem> => {
    const bytes = await readFile(join(product.dir, relative));
    const file = storage.bucket(BUCKET).file(prefix + relative);
    await file.save(bytes, { resumable: false });
    return { bucket: BUCKET, name: prefix + relative, generation: String(file.metadata.generation), size: bytes.length, contentType: 'application/xml' };
  };

  test('from a band\'s JP2 header, else the granule grid, else a whole tile: never a failure', async () => {
    const descriptor = 'MTD_MSIL1C.xml';
    const granule = product.files.find((f) => f.endsWith('MTD_TL.xml'))!;
    // Everything there; the XML and MTD_TL.xml only (bands on their way); the XML alone.
    const whole = await upload('whole/X.SAFE/', descriptor);
    for (const f of product.files.filter((f) => f !== descriptor)) await upload('whole/X.SAFE/', f);
    const gridOnly = await upload('grid/X.SAFE/', descriptor);
    await upload('grid/X.SAFE/', granule);
    const alone = await upload('alone/X.SAFE/', descriptor);

    const reads: string[] = [];
    const downloader = objectDownloader(storage, { attempts: 1, baseDelayMs: 5 });
    const counting = { download: (ref: Parameters<typeof downloader.download>[0], range?: { start: number; end: number }) => (reads.push(`${ref.name} ${range ? range.end - range.start + 1 : 'whole'}`), downloader.download(ref, range)) };
    const objectInfo = async (bucket: string, name: string) => {
      const [meta] = await storage.bucket(bucket).file(name).getMetadata();
      return { generation: String(meta.generation), size: Number(meta.size) };
    };
    const got = await probePixels([whole, gridOnly, alone], { downloader: counting, logger: createLogger({ level: 'silent' }), deadline: Date.now() + 60_000, objectInfo });
    assert.deepEqual(got, [
      { pixels: SAFE_SIZE.width * SAFE_SIZE.height, source: 'header' },
      { pixels: SAFE_SIZE.width * SAFE_SIZE.height, source: 'header' },
      { pixels: SENTINEL2_TILE_PIXELS, source: 'estimate' },
    ]);
    const bandReads = reads.filter((r) => r.startsWith('whole/') && r.includes('.jp2'));
    assert.deepEqual(bandReads, [`whole/X.SAFE/${product.bandFiles.get('B02')} 4096`], 'one ranged read of a few KB of the first 10 m band');
  });
});
