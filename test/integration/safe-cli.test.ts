// `cloudseg segment` on Sentinel-2 SAFE products as a user runs it (a real process): small L1C and
// L2A products built at test time (lossless JP2s written by GDAL, with GeoJP2/GMLJP2 boxes, without,
// and mixed), given as the .SAFE folder or its product XML; the same bands as GeoTIFFs through a STAC
// item; and the broken products: a truncated band, a band whose CRS is not the granule's, a band absent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { projectRoot } from '../../shared/config/project-root.js';
import { ResultEventSchema, type ResultEvent } from '../../shared/contracts/result-event.js';
import { MASK_VALUES } from '../../shared/imaging/mask-values.js';
import { BORDER_10M, buildSafeProduct, GDAL_JP2_MISSING, SAFE_EPSG, SAFE_GEOTRANSFORM_10M, SAFE_SIZE, SATURATED_RECT, stacItemOverSources, type SafeProduct } from '../support/safe-products.js';
import { stacItem } from './scene-band-files.js';

if (GDAL_JP2_MISSING) console.warn(`!!! SKIPPING SAFE product CLI checks: ${GDAL_JP2_MISSING}`);

const run = promisify(execFile);
const CLI = join(projectRoot(), 'functions', 'cli.ts');
const FOUR = [0, 1, 2, 3];

let dir: string;
const products: Record<string, SafeProduct> = {};
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spipe-safe-cli-'));
  if (GDAL_JP2_MISSING) return;
  products.l1c = await buildSafeProduct(join(dir, 'l1c'), { fixture: 'l1c-05.10', saturated: true });
  products.old = await buildSafeProduct(join(dir, 'old'), { fixture: 'l1c-03.01', boxes: 'none' });
  products.l2a = await buildSafeProduct(join(dir, 'l2a'), { fixture: 'l2a-05.10', boxes: { B02: 'gmljp2', B04: 'geojp2+gmljp2' } });
  products.truncated = await buildSafeProduct(join(dir, 'truncated'), { fixture: 'l1c-05.10', truncated: 'B03' });
  products.crs = await buildSafeProduct(join(dir, 'crs'), { fixture: 'l1c-05.10', fileEpsg: 32633, boxes: { B04: 'geojp2+gmljp2' } });
  products.missing = await buildSafeProduct(join(dir, 'missing'), { fixture: 'l1c-05.10', omit: ['B08'] });
});
after(() => rm(dir, { recursive: true, force: true }));

async function segment(args: string[], out: string): Promise<{ code: number; events: ResultEvent[] }> {
  let result: { stdout: string; code: number };
  try {
    result = { ...(await run(process.execPath, ['--import', 'tsx', CLI, 'segment', ...args, '--out', out, '--no-progress'], { cwd: projectRoot(), maxBuffer: 1 << 24 })), code: 0 };
  } catch (err) {
    result = err as { stdout: string; code: number };
  }
  return { code: result.code, events: result.stdout.trim().split('\n').map((l) => ResultEventSchema.parse(JSON.parse(l))) };
}

async function maskPixels(path: string): Promise<Buffer> {
  return sharp(await readFile(path)).greyscale().raw().toBuffer();
}

async function gdalInfo(path: string): Promise<{ geoTransform: number[]; size: number[]; stac?: { 'proj:epsg'?: number } }> {
  return JSON.parse((await run('gdalinfo', ['-json', path])).stdout) as { geoTransform: number[]; size: number[] };
}

test('a .SAFE folder and its product XML give one event each and the same masks; the STAC item of the same bands as GeoTIFFs the same mask', { skip: GDAL_JP2_MISSING, timeout: 300_000 }, async () => {
  const { l1c, old, l2a, truncated, crs, missing } = products as Record<string, SafeProduct>;
  const item = join(dir, 'old', 'tiff', 'item.json');
  await writeFile(item, stacItem('old-as-tiffs', stacItemOverSources(old!, 1e-4, 0)));

  const first = await segment([l1c!.dir, `${old!.dir}/`, l2a!.descriptor, truncated!.dir, crs!.dir, missing!.dir], join(dir, 'out1'));
  assert.equal(first.code, 1, 'the broken products fail, so the exit code says so');
  assert.deepEqual(first.events.map((e) => e.status), ['succeeded', 'succeeded', 'succeeded', 'failed', 'failed', 'failed'], JSON.stringify(first.events.map((e) => e.error)));
  const second = await segment([l1c!.descriptor, item], join(dir, 'out2'));
  assert.equal(second.code, 0, JSON.stringify(second.events.map((e) => e.error)));
  assert.equal(second.events.length, 2);

  // The folder and the XML: one scene, the same event but for timings, the same masks.
  const [byFolder, oldEvent, l2aEvent, truncatedEvent, crsEvent, missingEvent] = first.events as [ResultEvent, ResultEvent, ResultEvent, ResultEvent, ResultEvent, ResultEvent];
  const [byXml, itemEvent] = second.events as [ResultEvent, ResultEvent];
  assert.equal(byFolder.input.name, l1c!.descriptor, 'the folder stands for its product XML');
  assert.deepEqual({ ...byFolder, timingsMs: null, finishedAt: null, output: null }, { ...byXml, timingsMs: null, finishedAt: null, output: null });
  const maskName = `${l1c!.id}.SAFE.mask`;
  assert.equal(byFolder.output?.name, join(dir, 'out1', `${maskName}.png`), 'masks are named after the .SAFE folder, not MTD_MSIL1C.xml');
  for (const ext of ['png', 'tif']) {
    assert.ok((await readFile(join(dir, 'out1', `${maskName}.${ext}`))).equals(await readFile(join(dir, 'out2', `${maskName}.${ext}`))), `the ${ext} masks are byte for byte the same`);
  }

  // The scene and its reflectance: baseline 05.10, (DN - 1000) / 10000 by the product's own numbers.
  assert.equal(byFolder.scene?.kind, 'sentinel2-safe');
  assert.equal(byFolder.scene?.id, l1c!.id);
  assert.deepEqual(byFolder.scene?.inputs.map((i) => [i.band, i.name]), [
    ['blue', join(l1c!.dir, l1c!.bandFiles.get('B02')!)],
    ['green', join(l1c!.dir, l1c!.bandFiles.get('B03')!)],
    ['red', join(l1c!.dir, l1c!.bandFiles.get('B04')!)],
    ['nir', join(l1c!.dir, l1c!.bandFiles.get('B08')!)],
  ]);
  assert.deepEqual(byFolder.reflectance, { conversion: 'linear', source: 'safe-product-xml', sunElevation: 90 - 31.5, processingBaseline: '05.10', preset: null, scale: FOUR.map(() => 1e-4), offset: FOUR.map(() => -0.1) });
  assert.deepEqual([byFolder.width, byFolder.height], [SAFE_SIZE.width, SAFE_SIZE.height]);
  // Baseline 03.01: no offset. L2A 05.10: BOA_ADD_OFFSET -1000.
  assert.deepEqual(oldEvent.reflectance, { conversion: 'linear', source: 'safe-product-xml', sunElevation: 90 - 27.25, processingBaseline: '03.01', preset: null, scale: FOUR.map(() => 1e-4), offset: FOUR.map(() => 0) });
  assert.equal(l2aEvent.scene?.kind, 'sentinel2-safe');
  assert.deepEqual([l2aEvent.reflectance?.source, l2aEvent.reflectance?.offset], ['safe-product-xml', FOUR.map(() => -0.1)]);

  // The COGs are on the product's 10 m grid: with boxes, without (MTD_TL.xml only), and mixed.
  for (const event of [byFolder, oldEvent, l2aEvent]) {
    const info = await gdalInfo(event.output!.georeferenced!.name);
    assert.deepEqual(info.geoTransform, SAFE_GEOTRANSFORM_10M, event.input.name);
    assert.deepEqual(info.size.slice(0, 2), [SAFE_SIZE.width, SAFE_SIZE.height]);
    assert.equal(info.stac?.['proj:epsg'], SAFE_EPSG);
  }

  // NODATA (0, the border) and SATURATED (65535, a patch of red) are nodata in the mask.
  const mask = await maskPixels(byFolder.output!.name);
  const at = (x: number, y: number) => mask[y * SAFE_SIZE.width + x];
  assert.equal(at(5, 5), MASK_VALUES.nodata, 'the NODATA border');
  const r = SATURATED_RECT;
  for (const [x, y] of [[r.x, r.y], [r.x + r.width - 1, r.y + r.height - 1], [r.x + 5, r.y + 3]] as const) assert.equal(at(x, y), MASK_VALUES.nodata, `saturated ${x},${y}`);
  for (const [x, y] of [[r.x - 1, r.y], [r.x + r.width, r.y + r.height], [BORDER_10M + 1, BORDER_10M + 1]] as const) assert.notEqual(at(x, y), MASK_VALUES.nodata, `data at ${x},${y}`);

  // The same bands as GeoTIFFs through a STAC item: lossless JP2s, so the very same mask.
  assert.equal(itemEvent.scene?.kind, 'stac-item');
  assert.deepEqual(itemEvent.reflectance?.offset, oldEvent.reflectance?.offset);
  assert.ok((await maskPixels(itemEvent.output!.name)).equals(await maskPixels(oldEvent.output!.name)), 'the SAFE mask equals the GeoTIFF one');
  assert.equal(itemEvent.cloudFraction, oldEvent.cloudFraction);

  // The broken products, each named.
  assert.equal(truncatedEvent.error?.code, 'CORRUPT_IMAGE', JSON.stringify(truncatedEvent.error));
  assert.match(truncatedEvent.error!.message, /band green \([^)]*_B03\.jp2\)/);
  assert.equal(crsEvent.error?.code, 'SCENE_INVALID', JSON.stringify(crsEvent.error));
  assert.match(crsEvent.error!.message, /MTD_TL\.xml/);
  assert.match(crsEvent.error!.message, /EPSG:32632/);
  assert.match(crsEvent.error!.message, /EPSG:32633/);
  assert.match(crsEvent.error!.message, /_B04\.jp2/);
  assert.equal(missingEvent.error?.code, 'BANDS_MISSING', JSON.stringify(missingEvent.error));
  assert.match(missingEvent.error!.message, /nir \([^)]*_B08\.jp2\)/);
  assert.equal(missingEvent.scene?.kind ?? null, null, 'no scene read');
});
