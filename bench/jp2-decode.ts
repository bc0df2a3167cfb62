// JPEG 2000 decode cost on a Sentinel-2-sized band: a 10980 x 10980 uint16 lossless JP2 with
// 1024 x 1024 tiles (written here with GDAL into /tmp, never committed), read window by window
// (512 px windows over the whole image) through openJp2Windows, against the codec's whole-image
// decode. Each measurement runs in a process of its own, so its peak RSS is its own.
//   npx tsx bench/jp2-decode.ts [--file PATH] [--size 10980] [--window 512] [--modes windows,reduce1,reduce3,whole]
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { readJp2Layout } from '../shared/imaging/jp2/boxes.js';
import { openJp2Windows } from '../shared/imaging/jp2/jp2-windows.js';
import { decodeTileCodestream } from '../shared/imaging/jp2/openjpeg-codec.js';
import { bytesRangeSource, fileRangeSource } from '../shared/imaging/range-source.js';

const run = promisify(execFile);
const MODES = ['windows', 'reduce1', 'reduce3', 'whole'] as const;
type Mode = (typeof MODES)[number];

// Smooth fields plus sensor-like noise: compresses about as well as a real 10 m band (~1 byte/pixel).
const MAKE_BAND_PY = `
import sys, numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
size, out = int(sys.argv[1]), sys.argv[2]
tmp = out + '.src.tif'
ds = gdal.GetDriverByName('GTiff').Create(tmp, size, size, 1, gdal.GDT_UInt16, ['TILED=YES'])
rng = np.random.default_rng(7)
for y0 in range(0, size, 1024):
    h = min(1024, size - y0)
    y, x = np.mgrid[y0:y0 + h, 0:size]
    v = 1200 + 900 * np.sin(x / 700.0) * np.cos(y / 500.0) + 3000 * (np.sin((x + y) / 900.0) > 0.7)
    ds.GetRasterBand(1).WriteArray((v + rng.integers(0, 160, v.shape)).astype(np.uint16), 0, y0)
sr = osr.SpatialReference(); sr.ImportFromEPSG(32633)
ds.SetProjection(sr.ExportToWkt()); ds.SetGeoTransform([399960, 10, 0, 5000040, 0, -10])
ds = None
gdal.Translate(out, tmp, format='JP2OpenJPEG', creationOptions=['QUALITY=100', 'REVERSIBLE=YES', 'NBITS=15', 'BLOCKXSIZE=1024', 'BLOCKYSIZE=1024'])
gdal.Unlink(tmp)
`;

interface Measurement {
  mode: Mode;
  seconds: number;
  peakRssMiB: number;
  startRssMiB: number;
  width: number;
  height: number;
  windows: number;
  bytesRead: number;
}

const MiB = 2 ** 20;

async function child(mode: Mode, file: string, window: number): Promise<Measurement> {
  const startRssMiB = process.memoryUsage().rss / MiB;
  const started = performance.now();
  let width: number;
  let height: number;
  let windows = 0;
  let bytesRead: number;
  if (mode === 'whole') {
    // The codec's own way: the whole codestream in memory, the whole band decoded at once.
    const bytes = new Uint8Array(await readFile(file));
    const layout = await readJp2Layout((s, e) => Promise.resolve(bytes.subarray(s, e)), bytes.length, file);
    const codestream = bytes.subarray(layout.codestream.offset, layout.codestream.offset + layout.codestream.length);
    const probe = await openJp2Windows(bytesRangeSource(bytes), { label: file });
    ({ width, height } = probe.header);
    await decodeTileCodestream({ codestream, reduce: 0, width, height, components: 1, sampleType: 'uint16', label: file });
    bytesRead = bytes.length;
  } else {
    const source = await fileRangeSource(file);
    const reduce = mode === 'windows' ? 0 : mode === 'reduce1' ? 1 : 3;
    const reader = await openJp2Windows(source, { label: file, reduce });
    ({ width, height } = reader.header);
    for (let y = 0; y < height; y += window) {
      for (let x = 0; x < width; x += window) {
        await reader.readWindow({ x, y, width: Math.min(window, width - x), height: Math.min(window, height - y) });
        windows++;
      }
    }
    bytesRead = source.bytesRead;
    await source.close();
  }
  const seconds = (performance.now() - started) / 1000;
  // maxRSS is the process's high-water mark (KiB), so nothing between samples is missed.
  const peakRssMiB = (process.resourceUsage().maxRSS * 1024) / MiB;
  return { mode, seconds, peakRssMiB, startRssMiB, width, height, windows, bytesRead };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      file: { type: 'string', default: '/tmp/cloudseg-jp2-bench/band-10980.jp2' },
      size: { type: 'string', default: '10980' },
      window: { type: 'string', default: '512' },
      modes: { type: 'string', default: MODES.join(',') },
      child: { type: 'string' },
    },
  });
  const file = values.file;
  const window = Number(values.window);
  if (values.child) {
    console.log(JSON.stringify(await child(values.child as Mode, file, window)));
    return;
  }
  if (!existsSync(file)) {
    console.error(`writing ${file} with GDAL (a test tool: the product never needs it)...`);
    await run('mkdir', ['-p', file.replace(/\/[^/]*$/, '')]);
    await run('/usr/bin/python3', ['-c', MAKE_BAND_PY, values.size, file], { maxBuffer: 1 << 24 });
  }
  console.error(`${file}: ${((await stat(file)).size / MiB).toFixed(1)} MiB`);
  const modes = values.modes.split(',') as Mode[];
  for (const mode of modes) {
    if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}; one of ${MODES.join(', ')}`);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, '--file', file, '--window', String(window)], { maxBuffer: 1 << 24 });
    const m = JSON.parse(stdout.trim().split('\n').pop()!) as Measurement;
    console.log(
      `${m.mode.padEnd(8)} ${m.width}x${m.height}  ${m.seconds.toFixed(1)} s  peak RSS ${m.peakRssMiB.toFixed(0)} MiB (at start ${m.startRssMiB.toFixed(0)})  windows ${m.windows}  read ${(m.bytesRead / MiB).toFixed(0)} MiB`,
    );
  }
}

await main();
