// JPEG 2000 read window by window, judged by GDAL: files GDAL writes at test time (several tile
// sizes, an image that is not a whole number of tiles, one and several tile-parts per tile, TLM,
// GeoJP2 and GMLJP2, two bands, a bare codestream), every window compared bit for bit with what GDAL
// decodes, reduced resolutions with GDAL's overviews, georeference with GDAL's, and the bad inputs
// refused with their codes; then the decode threads: a multi-tile window read while a timer keeps
// ticking, and a process that never disposes its reader still exiting.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CloudsegError } from '../../shared/errors.js';
import { openJp2Windows } from '../../shared/imaging/jp2/index.js';
import { bytesRangeSource, fileRangeSource } from '../../shared/imaging/range-source.js';
import type { Georeference, Raster } from '../../shared/imaging/types.js';

const run = promisify(execFile);

// python3-gdal installs into Debian's python; a pyenv/venv python3 first on PATH cannot import it.
const PYTHONS = ['/usr/bin/python3', 'python3'];

async function findGdal(): Promise<{ python: string } | string> {
  try {
    await run('gdal_translate', ['--version']);
  } catch {
    return 'gdal_translate not found';
  }
  for (const python of PYTHONS) {
    try {
      await run(python, ['-c', 'from osgeo import gdal; assert gdal.GetDriverByName("JP2OpenJPEG")']);
      return { python };
    } catch {
      // try the next
    }
  }
  return 'no python3 with osgeo (python3-gdal) and the JP2OpenJPEG driver';
}

const gdal = await findGdal();
const MISSING = typeof gdal === 'string' ? `${gdal}: GDAL not installed (apt-get install gdal-bin python3-gdal; .ci/run does)` : false;
if (MISSING) console.warn(`!!! SKIPPING GDAL JPEG 2000 checks: ${MISSING}`);

interface Variant {
  name: string;
  width: number;
  height: number;
  bands: number;
  options: string[];
  /** GDAL open options for reading it back (which georeference source GDAL should use). */
  open?: string[];
}

const LOSSLESS = ['QUALITY=100', 'REVERSIBLE=YES'];
const VARIANTS: Variant[] = [
  // Not a whole number of tiles either way; 15 significant bits like Sentinel-2.
  { name: 't256.jp2', width: 1000, height: 700, bands: 1, options: [...LOSSLESS, 'NBITS=15', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256'] },
  // A tile-part per resolution level (tiles' parts interleaved across the file) found through TLM.
  { name: 't512-parts-tlm.jp2', width: 1100, height: 1030, bands: 1, options: [...LOSSLESS, 'BLOCKXSIZE=512', 'BLOCKYSIZE=512', 'RESOLUTIONS=4', 'TILEPARTS=RESOLUTIONS', 'TLM=YES'] },
  // Rectangular tiles, another progression, PLT, and GMLJP2 as the only georeference.
  { name: 't128x192-gml.jp2', width: 650, height: 410, bands: 1, options: [...LOSSLESS, 'BLOCKXSIZE=128', 'BLOCKYSIZE=192', 'PROGRESSION=RPCL', 'PLT=YES', 'GeoJP2=NO'], open: ['GEOREF_SOURCES=GMLJP2'] },
  // Three bands (pixel-interleaved windows, the reversible colour transform) with tile-parts by component.
  { name: 'three-bands.jp2', width: 600, height: 520, bands: 3, options: [...LOSSLESS, 'BLOCKXSIZE=256', 'BLOCKYSIZE=256', 'TILEPARTS=COMPONENTS'] },
  // Two bands: the codec cannot decode them; refused from the header.
  { name: 'two-bands.jp2', width: 200, height: 100, bands: 2, options: [...LOSSLESS, 'BLOCKXSIZE=128', 'BLOCKYSIZE=128'] },
  // A bare codestream: no boxes, no georeference.
  { name: 'bare.j2k', width: 700, height: 300, bands: 1, options: [...LOSSLESS, 'CODEC=J2K', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256'] },
];

// Writes every variant from a synthetic uint16 GeoTIFF, then what GDAL reads back: full-resolution
// pixels and its overviews (one per discarded resolution level) as raw little-endian uint16,
// pixel-interleaved, and the georeference GDAL sees.
const MAKE_PY = `
import json, sys, numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
dir, variants = sys.argv[1], json.loads(sys.argv[2])
out = {}
for v in variants:
    w, h, bands = v['width'], v['height'], v['bands']
    rng = np.random.default_rng(w * h)
    y, x = np.mgrid[0:h, 0:w]
    src = gdal.GetDriverByName('MEM').Create('', w, h, bands, gdal.GDT_UInt16)
    for b in range(bands):
        a = 1500 + 1200 * np.sin(x / 41.0 + b) * np.cos(y / 29.0) + 9000 * ((x // 97 + y // 61) % 3 == 0) + rng.integers(0, 400, (h, w))
        src.GetRasterBand(b + 1).WriteArray(np.clip(a, 0, 32767).astype(np.uint16))
    sr = osr.SpatialReference(); sr.ImportFromEPSG(32736)
    src.SetProjection(sr.ExportToWkt()); src.SetGeoTransform([446235, 10, 0, 9705660, 0, -10])
    path = dir + '/' + v['name']
    gdal.Translate(path, src, format='JP2OpenJPEG', creationOptions=v['options'])
    # Only what the file holds: GDAL keeps a bare codestream's georeference in a sidecar.
    gdal.Unlink(path + '.aux.xml') if gdal.VSIStatL(path + '.aux.xml') else None
    ds = gdal.OpenEx(path, open_options=v.get('open') or [])
    def save(arr, name):
        if arr.ndim == 3: arr = np.moveaxis(arr, 0, -1)
        arr.astype('<u2').tofile(dir + '/' + name)
    save(ds.ReadAsArray(), v['name'] + '.r0')
    b1 = ds.GetRasterBand(1)
    levels = []
    for i in range(min(2, b1.GetOverviewCount())):
        ov = [ds.GetRasterBand(b + 1).GetOverview(i) for b in range(bands)]
        save(np.stack([o.ReadAsArray() for o in ov]) if bands > 1 else ov[0].ReadAsArray(), v['name'] + '.r' + str(i + 1))
        levels.append([ov[0].XSize, ov[0].YSize])
    wkt = ds.GetProjection()
    epsg = None
    if wkt:
        s = osr.SpatialReference(wkt=wkt); s.AutoIdentifyEPSG(); epsg = int(s.GetAuthorityCode(None))
    out[v['name']] = {'size': [ds.RasterXSize, ds.RasterYSize], 'overviews': levels, 'geotransform': list(ds.GetGeoTransform()) if wkt else None, 'epsg': epsg}
print(json.dumps(out))
`;

interface GdalView {
  size: [number, number];
  overviews: [number, number][];
  geotransform: number[] | null;
  epsg: number | null;
}

function geotransformOf(g: Georeference): number[] {
  const t = g.modelTiepoint!;
  const s = g.modelPixelScale!;
  return [t[3]! - t[0]! * s[0]!, s[0]!, 0, t[4]! + t[1]! * s[1]!, 0, -s[1]!];
}

function codeOf(code: string) {
  return (err: unknown) => err instanceof CloudsegError && err.code === code;
}

// Overlapping windows stepping across every tile edge, clipped at the image's edges.
function windowsOver(width: number, height: number, size: number, step: number): { x: number; y: number; width: number; height: number }[] {
  const out = [];
  for (let y = 0; y < height; y += step) {
    for (let x = 0; x < width; x += step) out.push({ x, y, width: Math.min(size, width - x), height: Math.min(size, height - y) });
  }
  return out;
}

function assertWindowEquals(got: Raster, want: Uint16Array, imageWidth: number, w: { x: number; y: number; width: number; height: number }, what: string): void {
  const bands = got.bands;
  for (let y = 0; y < w.height; y++) {
    const row = got.data.subarray(y * w.width * bands, (y + 1) * w.width * bands);
    const start = ((w.y + y) * imageWidth + w.x) * bands;
    for (let i = 0; i < row.length; i++) {
      if (row[i] !== want[start + i]) assert.fail(`${what} window ${JSON.stringify(w)}: row ${y} sample ${i} is ${row[i]}, GDAL says ${want[start + i]}`);
    }
  }
}

describe('JPEG 2000 windows against GDAL', { skip: MISSING }, () => {
  let dir: string;
  let views: Record<string, GdalView>;
  const reference = async (name: string) => {
    const raw = await readFile(join(dir, name));
    return new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloudseg-jp2-'));
    const { stdout } = await run((gdal as { python: string }).python, ['-c', MAKE_PY, dir, JSON.stringify(VARIANTS)], { maxBuffer: 1 << 24 });
    views = JSON.parse(stdout) as Record<string, GdalView>;
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const v of VARIANTS.filter((v) => v.bands !== 2)) {
    it(`${v.name}: every window at full and reduced resolution equals GDAL's pixels`, async () => {
      const view = views[v.name]!;
      for (let reduce = 0; reduce <= view.overviews.length; reduce++) {
        const source = await fileRangeSource(join(dir, v.name));
        try {
          const reader = await openJp2Windows(source, { label: v.name, reduce });
          const [width, height] = reduce === 0 ? view.size : view.overviews[reduce - 1]!;
          assert.deepEqual([reader.header.width, reader.header.height, reader.header.bands, reader.header.dtype], [width, height, v.bands, 'uint16'], `reduce ${reduce}`);
          const want = await reference(`${v.name}.r${reduce}`);
          for (const w of windowsOver(width, height, 300 >> reduce, 250 >> reduce)) {
            assertWindowEquals(await reader.readWindow(w), want, width, w, `${v.name} reduce ${reduce}`);
          }
          // Each tile's parts were fetched once per decode, the file never whole.
          assert.ok(source.largestRequestBytes < source.size, 'no read of the whole file');
        } finally {
          await source.close();
        }
      }
    });

    it(`${v.name}: georeference as GDAL reads it`, async () => {
      const view = views[v.name]!;
      const reader = await openJp2Windows(bytesRangeSource(await readFile(join(dir, v.name))), { label: v.name });
      const georef = reader.header.georef;
      if (view.geotransform === null) {
        assert.equal(georef, null);
        return;
      }
      assert.ok(georef, 'a georeference');
      assert.deepEqual(geotransformOf(georef), view.geotransform);
      assert.equal(georef.geoKeys.ProjectedCSTypeGeoKey, view.epsg);
      const half = await openJp2Windows(bytesRangeSource(await readFile(join(dir, v.name))), { label: v.name, reduce: 1 });
      assert.deepEqual(half.header.georef?.modelPixelScale?.slice(0, 2), [20, 20]);
    });
  }

  it('refuses a two-band JP2 from its header (UNSUPPORTED_FORMAT): the codec decodes one or three components', async () => {
    const source = await fileRangeSource(join(dir, 'two-bands.jp2'));
    await assert.rejects(openJp2Windows(source, { label: 'two' }), codeOf('UNSUPPORTED_FORMAT'));
    await source.close();
  });

  it('refuses a truncated JP2 and a truncated codestream (CORRUPT_IMAGE)', async () => {
    for (const name of ['t256.jp2', 'bare.j2k']) {
      const bytes = await readFile(join(dir, name));
      const cut = bytes.subarray(0, Math.floor(bytes.length * 0.6));
      await assert.rejects(openJp2Windows(bytesRangeSource(cut), { label: name }), codeOf('CORRUPT_IMAGE'), name);
    }
  });

  it('refuses a JP2 whose header declares 100,000 x 100,000 before any tile is read (IMAGE_TOO_LARGE)', async () => {
    const bytes = new Uint8Array(await readFile(join(dir, 't256.jp2')));
    const soc = findSoc(bytes);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint32(soc + 8, 100_000); // Xsiz
    view.setUint32(soc + 12, 100_000); // Ysiz
    const source = bytesRangeSource(bytes);
    const rssBefore = process.memoryUsage().rss;
    await assert.rejects(openJp2Windows(source, { label: 'bomb' }), codeOf('IMAGE_TOO_LARGE'));
    assert.ok(source.bytesRead < 128 * 1024, `read ${source.bytesRead} bytes`);
    assert.ok(process.memoryUsage().rss - rssBefore < 64 * 2 ** 20, 'nothing large allocated');
  });

  it('refuses codestreams whose tiles do not cover the image (CORRUPT_IMAGE)', async () => {
    const bytes = new Uint8Array(await readFile(join(dir, 'bare.j2k')));
    // The tile grid's origin right of the image's.
    const shifted = bytes.slice();
    new DataView(shifted.buffer).setUint32(32, 7); // XTOsiz
    await assert.rejects(openJp2Windows(bytesRangeSource(shifted), { label: 'shifted' }), codeOf('CORRUPT_IMAGE'));
    // The last tile's data gone (EOC right after the tile before it).
    const lastSot = lastIndexOfMarker(bytes, 0xff90);
    const missing = new Uint8Array([...bytes.subarray(0, lastSot), 0xff, 0xd9]);
    await assert.rejects(openJp2Windows(bytesRangeSource(missing), { label: 'missing' }), (e) => codeOf('CORRUPT_IMAGE')(e) && /do not cover/.test((e as Error).message));
  });
});

describe('JPEG 2000 decode threads', () => {
  it('keep the event loop running while a window of four 1024 x 1024 tiles decodes', { skip: MISSING }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cloudseg-jp2-threads-'));
    try {
      const big: Variant = { name: 't1024.jp2', width: 2048, height: 2048, bands: 1, options: [...LOSSLESS, 'BLOCKXSIZE=1024', 'BLOCKYSIZE=1024'] };
      await run((gdal as { python: string }).python, ['-c', MAKE_PY, dir, JSON.stringify([big])], { maxBuffer: 1 << 24 });
      const path = join(dir, big.name);
      // The yardstick: one tile decoded on the event loop blocks it this long.
      const inline = await openJp2Windows(await fileRangeSource(path), { label: 'inline', decodeThreads: 0 });
      const started = performance.now();
      await inline.readWindow({ x: 0, y: 0, width: 16, height: 16 });
      const tileMs = performance.now() - started;

      const reader = await openJp2Windows(await fileRangeSource(path), { label: 'threads' });
      let last = performance.now();
      let longestGapMs = 0;
      const ticks = setInterval(() => {
        const now = performance.now();
        longestGapMs = Math.max(longestGapMs, now - last);
        last = now;
      }, 5);
      let window: Raster;
      try {
        window = await reader.readWindow({ x: 512, y: 512, width: 1024, height: 1024 });
      } finally {
        clearInterval(ticks);
      }
      const raw = await readFile(join(dir, `${big.name}.r0`));
      assertWindowEquals(window, new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2), 2048, { x: 512, y: 512, width: 1024, height: 1024 }, big.name);
      assert.ok(longestGapMs < tileMs / 2, `the timer waited up to ${longestGapMs.toFixed(0)} ms while four tiles decoded; one tile decoded inline blocks ${tileMs.toFixed(0)} ms`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('let a process that never disposes its reader exit once its reads are done', async () => {
    const fixture = join(import.meta.dirname, '../fixtures/jp2/u16-t32-parts.jp2');
    const module = new URL('../../shared/imaging/jp2/index.ts', import.meta.url).href;
    const range = new URL('../../shared/imaging/range-source.ts', import.meta.url).href;
    const script = `
      const { openJp2Windows } = await import(${JSON.stringify(module)});
      const { fileRangeSource } = await import(${JSON.stringify(range)});
      const reader = await openJp2Windows(await fileRangeSource(${JSON.stringify(fixture)}), { label: 'f', decodeThreads: 2 });
      const w = await reader.readWindow({ x: 0, y: 0, width: 100, height: 70 });
      console.log('read', w.data.length);`;
    const started = performance.now();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 });
    assert.equal(stdout.trim(), 'read 7000');
    assert.ok(performance.now() - started < 30_000);
  });
});

function findSoc(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0x4f && bytes[i + 2] === 0xff && bytes[i + 3] === 0x51) return i;
  throw new Error('no SOC');
}

// The last SOT marker: coded data never holds 0xFF followed by a byte above 0x8F (bit stuffing),
// so an FF90 with Lsot 10 is a marker.
function lastIndexOfMarker(bytes: Uint8Array, marker: number): number {
  for (let i = bytes.length - 12; i >= 0; i--) {
    if (bytes[i] === marker >> 8 && bytes[i + 1] === (marker & 0xff) && bytes[i + 2] === 0 && bytes[i + 3] === 10) return i;
  }
  throw new Error('no marker');
}
