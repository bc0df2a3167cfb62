// Windowed segmentation (ranged reads, tile by tile into the uint8 mask) against the whole-image
// path on the real sample scenes and on a synthetic scene with Landsat-like nodata fill, read from
// local files and through the real storage client from the local GCS server (Range requests).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { readSampleManifest, type Sample } from '../../infra/local/samples.js';
import { DEFAULT_READ_AHEAD_BYTES, downloaderRangeSource } from '../../shared/cloud/gcs-range-source.js';
import { createDownloadStorage, objectDownloader, type ObjectDownloader } from '../../shared/cloud/object-download.js';
import { createStorage } from '../../shared/cloud/storage.js';
import { CloudsegError } from '../../shared/errors.js';
import { decodeImage } from '../../shared/imaging/decode.js';
import { MASK_VALUES } from '../../shared/imaging/mask-values.js';
import { bytesRangeSource, fileRangeSource } from '../../shared/imaging/range-source.js';
import { writeTiledGeoTiffFile } from '../../shared/imaging/tiled-geotiff-write.js';
import type { Raster } from '../../shared/imaging/types.js';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import { encodeMasks, segmentImage } from '../../shared/worker/segment-image.js';
import { segmentSource } from '../../shared/worker/segment-source.js';
import { shippedModelDir } from '../support/model.js';
import { deflateBomb, smallTiff, withClaimedSize, withStrip } from '../support/tiff-surgery.js';

const BUDGET = 2 ** 30;
// 30 m pixels in UTM zone 33N (EPSG:32633), as a Landsat scene is placed.
const UTM_GEOREF = {
  geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32633 },
  modelTiepoint: [0, 0, 0, 399960, 5000040, 0],
  modelPixelScale: [30, 30, 0],
  modelTransformation: null,
};
// Small tiles make a sample scene several tiles (and windows across TIFF blocks and strips).
const TILE = { size: 192, overlap: 32 };

/** A tiled copy of a decoded raster, tile edge `tileSize`, zeros beyond the image. */
async function writeTiledCopy(path: string, raster: Raster, tileSize: number): Promise<number> {
  return writeTiledGeoTiffFile(path, { ...raster, scaling: raster.fileScaling, tileSize }, (x0, y0, size) => {
    const out = new (raster.data.constructor as new (n: number) => Raster['data'])(size * size * raster.bands);
    for (let y = y0; y < Math.min(y0 + size, raster.height); y++) {
      const rowFrom = (y * raster.width + x0) * raster.bands;
      const cols = Math.min(size, raster.width - x0);
      out.set(raster.data.subarray(rowFrom, rowFrom + cols * raster.bands), (y - y0) * size * raster.bands);
    }
    return out;
  });
}

/**
 * A reproducible 4-band uint16 scene (DN like Landsat: bright cloud blobs over darker ground) whose
 * left and bottom edges are nodata fill (0 in every band), like the tilted footprint of a scene.
 */
function syntheticTile(width: number, height: number, fillWidth: number) {
  const blobs = Array.from({ length: 24 }, (_, i) => ({ cx: ((i * 7919) % 97) / 97 * width, cy: ((i * 104729) % 89) / 89 * height, r: 60 + ((i * 31) % 200) }));
  const isFill = (x: number, y: number) => x < fillWidth + (y * fillWidth) / height || y > height - fillWidth / 2;
  const tileAt = (x0: number, y0: number, size: number) => {
    const out = new Uint16Array(size * size * 4);
    for (let y = y0; y < Math.min(y0 + size, height); y++) {
      for (let x = x0; x < Math.min(x0 + size, width); x++) {
        if (isFill(x, y)) continue;
        let c = 0;
        for (const b of blobs) c += Math.exp(-((x - b.cx) ** 2 + (y - b.cy) ** 2) / (2 * b.r * b.r));
        c = Math.min(c, 1);
        const at = ((y - y0) * size + (x - x0)) * 4;
        for (let k = 0; k < 4; k++) out[at + k] = Math.round((0.08 + 0.02 * k + 0.6 * c + 0.1) * 10_000 * (1 + ((x * 13 + y * 7 + k) % 11) / 200));
      }
    }
    return out;
  };
  return { tileAt, isFill };
}

describe('windowed segmentation', () => {
  let model: LoadedModel;
  let dir: string;
  let samples: Sample[];

  before(async () => {
    model = await loadModelFromDir(await shippedModelDir(), { backend: 'onnxruntime', batchTiles: 1 });
    dir = await mkdtemp(join(tmpdir(), 'cloudseg-windows-test-'));
    samples = await readSampleManifest();
  });
  after(async () => {
    await model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('sample scenes: the windowed mask equals the whole-image mask, stripped and tiled files alike', async () => {
    for (const sample of samples) {
      const bytes = new Uint8Array(await readFile(sample.imagePath));
      const whole = await segmentImage(model, { bytes, name: sample.id }, { maxPixels: 1e8, tileSize: TILE.size, overlap: TILE.overlap });
      const stripped = await segmentSource(model, { source: bytesRangeSource(bytes), name: sample.id }, { memoryBudgetBytes: BUDGET, tile: TILE });
      assert.equal(stripped.read, 'windowed');
      assert.ok(stripped.tilesRun > 1, `${sample.id}: ${stripped.tilesRun} tiles`);
      assert.deepEqual(stripped.mask, whole.mask, `${sample.id}: stripped`);
      assert.equal(stripped.cloudFraction, whole.cloudFraction);
      assert.deepEqual(stripped.scaling, whole.scaling);

      const tiledPath = join(dir, `${sample.id}.tiled.tif`);
      await writeTiledCopy(tiledPath, whole.raster, 128);
      const source = await fileRangeSource(tiledPath);
      const tiled = await segmentSource(model, { source, name: sample.id }, { memoryBudgetBytes: BUDGET, tile: TILE }).finally(() => source.close());
      assert.deepEqual(tiled.mask, whole.mask, `${sample.id}: tiled`);
      assert.deepEqual(tiled.georef, whole.georef);
      // And at the card's own tile size, what the worker runs.
      const cardWhole = await segmentImage(model, { bytes, name: sample.id }, { maxPixels: 1e8 });
      const cardWindowed = await segmentSource(model, { source: bytesRangeSource(bytes), name: sample.id }, { memoryBudgetBytes: BUDGET });
      assert.deepEqual(cardWindowed.mask, cardWhole.mask, `${sample.id}: card tiles`);
    }
  });

  test('nodata fill: never run through the model, nodata in the mask (and GDAL_NODATA), left out of cloudFraction', async () => {
    const [width, height, fill] = [1500, 1100, 400];
    const scene = syntheticTile(width, height, fill);
    const path = join(dir, 'fill.tif');
    await writeTiledGeoTiffFile(path, { width, height, bands: 4, dtype: 'uint16', noData: 0, tileSize: 256, georef: UTM_GEOREF }, scene.tileAt);
    const bytes = new Uint8Array(await readFile(path));
    const whole = await segmentImage(model, { bytes, name: 'fill.tif' }, { maxPixels: 1e8 });
    const windowed = await segmentSource(model, { source: bytesRangeSource(bytes), name: 'fill.tif' }, { memoryBudgetBytes: BUDGET });
    assert.deepEqual(windowed.mask, whole.mask);
    assert.ok(windowed.tilesSkipped >= 1, `${windowed.tilesSkipped} all-nodata tiles skipped of ${windowed.tilesRun + windowed.tilesSkipped}`);
    let cloud = 0;
    let valid = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = windowed.mask[y * width + x]!;
        if (scene.isFill(x, y)) assert.equal(v, MASK_VALUES.nodata, `fill pixel ${x},${y}`);
        else {
          assert.ok(v === MASK_VALUES.clear || v === MASK_VALUES.cloud, `data pixel ${x},${y} is ${v}`);
          valid++;
          if (v === MASK_VALUES.cloud) cloud++;
        }
      }
    }
    assert.ok(valid < width * height * 0.8 && cloud > 0 && cloud < valid, `${cloud} cloud of ${valid} valid`);
    assert.equal(windowed.cloudFraction, cloud / valid);
    const encoded = await encodeMasks(windowed, { geotiff: true });
    const tif = await decodeImage(encoded.geotiff!, { maxPixels: 1e8 });
    assert.equal(tif.noData, MASK_VALUES.nodata);
    assert.deepEqual(new Uint8Array(tif.data.buffer, tif.data.byteOffset, tif.data.length), windowed.mask);
    const png = await decodeImage(encoded.png, { maxPixels: 1e8 });
    assert.deepEqual(new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length), windowed.mask);
  });

  test('IMAGE_TOO_LARGE from the header, before any pixel is read', async () => {
    const path = join(dir, 'fill.tif');
    const source = await fileRangeSource(path);
    await assert.rejects(
      segmentSource(model, { source, name: 'fill.tif' }, { memoryBudgetBytes: 32 * 2 ** 20 }),
      (err: unknown) => err instanceof CloudsegError && err.code === 'IMAGE_TOO_LARGE' && /memory budget/.test(err.message),
    );
    await source.close();
    // Only the header and directory were read, not one tile.
    assert.ok(source.bytesRead < 64 * 1024, `${source.bytesRead} bytes read`);
    // A header claiming 100000 x 100000 (the chaos suite's poison): refused, not planned or read.
    const huge = bytesRangeSource(withClaimedSize(100_000, 100_000));
    await assert.rejects(
      segmentSource(model, { source: huge, name: 'huge.tif' }, { memoryBudgetBytes: BUDGET }),
      (err: unknown) => err instanceof CloudsegError && err.code === 'IMAGE_TOO_LARGE' && /100000x100000/.test(err.message),
    );
    // A deflate bomb is still CORRUPT_IMAGE through windows (the same bounded inflater).
    await assert.rejects(
      segmentSource(model, { source: bytesRangeSource(withStrip(smallTiff(), deflateBomb(256 * 2 ** 20))), name: 'bomb.tif' }, { memoryBudgetBytes: BUDGET }),
      (err: unknown) => err instanceof CloudsegError && err.code === 'CORRUPT_IMAGE',
    );
  });

  describe('from the local GCS server', () => {
    let gcs: GcsServer;
    let storage: Storage;
    let downloader: ObjectDownloader;
    let root: string;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'cloudseg-windows-gcs-'));
      gcs = await startGcsServer({ rootDir: root, projectId: 'cloudseg-windows-test' });
      Object.assign(process.env, gcs.env);
      storage = createStorage('cloudseg-windows-test');
      // The worker's downloader: its own retries, the client's off.
      downloader = objectDownloader(createDownloadStorage('cloudseg-windows-test'));
      await gcs.createBucket('sw-input');
    });
    after(async () => {
      await gcs?.stop();
      await rm(root, { recursive: true, force: true });
    });

    test('a 4000x3000 tiled scene is segmented through ranged reads of the pinned generation, never downloaded whole', async () => {
      const [width, height] = [4000, 3000];
      const scene = syntheticTile(width, height, 900);
      const path = join(dir, 'big.tif');
      const size = await writeTiledGeoTiffFile(path, { width, height, bands: 4, dtype: 'uint16', noData: 0, tileSize: 512 }, scene.tileAt);
      const file = storage.bucket('sw-input').file('scenes/big.tif');
      await file.save(await readFile(path), { resumable: false, contentType: 'image/tiff' });
      const generation = String(file.metadata.generation);
      const [meta] = await storage.bucket('sw-input').file('scenes/big.tif', { generation }).getMetadata();
      assert.equal(Number(meta.size), size);

      const source = downloaderRangeSource(downloader, { bucket: 'sw-input', name: 'scenes/big.tif', generation }, Number(meta.size));
      const remote = await segmentSource(model, { source, name: 'scenes/big.tif' }, { memoryBudgetBytes: BUDGET });
      const local = await fileRangeSource(path);
      const fromFile = await segmentSource(model, { source: local, name: 'big.tif' }, { memoryBudgetBytes: BUDGET }).finally(() => local.close());
      assert.deepEqual(remote.mask, fromFile.mask);
      assert.ok(remote.tilesSkipped > 0);
      // Every block once (the cache absorbs the overlap between windows), in many small requests:
      // all-fill blocks are still read (a reader cannot know they are fill), so about the file,
      // plus the read-ahead chunk the header and directory came in.
      console.log(`ranged reads: ${source.requests} requests, ${source.bytesRead} of ${size} bytes, largest ${source.largestRequestBytes}; tiles run ${remote.tilesRun}, skipped ${remote.tilesSkipped}`);
      assert.ok(source.bytesRead <= size + DEFAULT_READ_AHEAD_BYTES, `${source.bytesRead} bytes read of ${size}`);
      assert.ok(source.requests > 20, `${source.requests} requests`);
      assert.ok(source.largestRequestBytes < size / 10, `largest request ${source.largestRequestBytes} of ${size}`);
    });

    test('a stripped sample scene: strips grouped into read-ahead chunks, the same mask as from memory', async () => {
      const sample = samples.find((s) => s.id.startsWith('s2-'))!;
      const bytes = await readFile(sample.imagePath);
      const file = storage.bucket('sw-input').file('scenes/stripped.tif');
      await file.save(bytes, { resumable: false });
      const source = downloaderRangeSource(downloader, { bucket: 'sw-input', name: 'scenes/stripped.tif', generation: String(file.metadata.generation) }, bytes.length);
      const remote = await segmentSource(model, { source, name: 'stripped.tif' }, { memoryBudgetBytes: BUDGET });
      const local = await segmentSource(model, { source: bytesRangeSource(new Uint8Array(bytes)), name: 'stripped.tif' }, { memoryBudgetBytes: BUDGET });
      assert.deepEqual(remote.mask, local.mask);
      const strips = Math.ceil(bytes.length / (64 * 1024));
      assert.ok(source.requests < strips / 2, `${source.requests} requests for ~${strips} strips`);
      assert.ok(source.bytesRead <= bytes.length * 1.5, `${source.bytesRead} bytes read of ${bytes.length}`);
    });

    test('503, 429 and a reset in the middle of a windowed read are retried by the downloader: the same mask', async () => {
      const bytes = await readFile(join(dir, 'fill.tif'));
      const file = storage.bucket('sw-input').file('scenes/faults.tif');
      await file.save(bytes, { resumable: false });
      const res = await fetch(`${gcs.url}/retry_test`, {
        method: 'POST',
        body: JSON.stringify({ instructions: { 'storage.objects.get': ['return-503', 'return-429', 'return-reset-connection'] } }),
      });
      const { id } = (await res.json()) as { id: string };
      const faulty = createDownloadStorage('cloudseg-windows-test');
      faulty.interceptors.push({
        request: (options) => {
          options.headers = { ...(options.headers as Record<string, string> | undefined), 'x-retry-test-id': id };
          return options as ReturnType<Storage['interceptors'][number]['request']>;
        },
      });
      const ref = { bucket: 'sw-input', name: 'scenes/faults.tif', generation: String(file.metadata.generation) };
      const source = downloaderRangeSource(objectDownloader(faulty, { baseDelayMs: 5 }), ref, bytes.length);
      const remote = await segmentSource(model, { source, name: 'faults.tif' }, { memoryBudgetBytes: BUDGET });
      const local = await segmentSource(model, { source: bytesRangeSource(new Uint8Array(bytes)), name: 'faults.tif' }, { memoryBudgetBytes: BUDGET });
      assert.deepEqual(remote.mask, local.mask);
      const left = ((await (await fetch(`${gcs.url}/retry_test/${id}`)).json()) as { instructions: Record<string, string[]> }).instructions['storage.objects.get'];
      assert.deepEqual(left ?? [], [], 'every fault was met');
    });

    test('an object replaced mid-read answers 404 for the pinned generation, passed on as the store error', async () => {
      const bytes = await readFile(join(dir, 'fill.tif'));
      const file = storage.bucket('sw-input').file('scenes/replaced.tif');
      await file.save(bytes, { resumable: false });
      const source = downloaderRangeSource(downloader, { bucket: 'sw-input', name: 'scenes/replaced.tif', generation: String(file.metadata.generation) }, bytes.length);
      await file.save(bytes, { resumable: false }); // a newer generation replaces it before the read
      await assert.rejects(segmentSource(model, { source, name: 'replaced.tif' }, { memoryBudgetBytes: BUDGET }), (err: unknown) => (err as { code?: number }).code === 404);
    });
  });
});
