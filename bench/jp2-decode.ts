// JPEG 2000 decode cost on a Sentinel-2-sized band: a 10980 x 10980 uint16 lossless JP2 with
// 1024 x 1024 tiles (written here with GDAL into /tmp, never committed), read window by window
// (512 px windows over the whole image, `--in-flight` at a time: two windows share a tile, so 4
// keep two tiles decoding) through openJp2Windows, in the decode threads (windows, reduce1,
// reduce3) or on the event loop (inline), against the codec's whole-image decode. Each measurement
// runs in a process of its own, so its peak RSS is its own; CPU seconds (every thread) tell decode
// work from a busy machine's waits, the event loop's longest stall whether decoding blocked it.
//   npx tsx bench/jp2-decode.ts [--file PATH] [--size 10980] [--window 512] [--in-flight 4]
//     [--modes windows,inline,reduce1,reduce3,whole]
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import pLimit from 'p-limit';
import { readJp2Layout } from '../shared/imaging/jp2/boxes.js';
import { openJp2Windows } from '../shared/imaging/jp2/jp2-windows.js';
import { decodeTileCodestream } from '../shared/imaging/jp2/openjpeg-codec.js';
import { bytesRangeSource, fileRangeSource } from '../shared/imaging/range-source.js';

const run = promisify(execFile);
const MODES = ['windows', 'inline', 'reduce1', 'reduce3', 'whole'] as const;
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
  /** User + system time of every thread of the process. */
  cpuSeconds: number;
  /** JPEG 2000 tiles in the image (each decoded once). */
  tiles: number;
  /** The longest the event loop went without running (timer lateness). */
  maxStallMs: number;
  peakRssMiB: number;
  startRssMiB: number;
  width: number;
  height: number;
  windows: number;
  bytesRead: number;
}

const MiB = 2 ** 20;

async function child(mode: Mode, file: string, window: number, inFlight: number): Promise<Measurement> {
  const startRssMiB = process.memoryUsage().rss / MiB;
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let width: number;
  let height: number;
  let windows = 0;
  let tiles = 1;
  let bytesRead: number;
  if (mode === 'whole') {
    // The codec's own way: the whole codestream in memory, the whole band decoded at once.
    const bytes = new Uint8Array(await readFile(file));
    const layout = await readJp2Layout((s, e) => Promise.resolve(bytes.subarray(s, e)), bytes.length, file);
    const codestream = bytes.subarray(layout.codestream.offset, layout.codestream.offset + layout.codestream.length);
    const probe = await openJp2Windows(bytesRangeSource(bytes), { label: file });
    ({ width, height } = probe.header);
    tiles = Math.ceil(width / probe.block.width) * Math.ceil(height / probe.block.height);
    await decodeTileCodestream({ codestream, reduce: 0, width, height, components: 1, sampleType: 'uint16', label: file });
    bytesRead = bytes.length;
  } else {
    const source = await fileRangeSource(file);
    const reduce = mode === 'reduce1' ? 1 : mode === 'reduce3' ? 3 : 0;
    const reader = await openJp2Windows(source, { label: file, reduce, ...(mode === 'inline' ? { decodeThreads: 0 } : {}) });
    ({ width, height } = reader.header);
    tiles = Math.ceil(width / reader.block.width) * Math.ceil(height / reader.block.height);
    const limit = pLimit(inFlight);
    const reads: Promise<void>[] = [];
    for (let y = 0; y < height; y += window) {
      for (let x = 0; x < width; x += window) {
        // Each window dropped once read (kept, 484 windows would be 250 MB of the peak).
        reads.push(limit(async () => void (await reader.readWindow({ x, y, width: Math.min(window, width - x), height: Math.min(window, height - y) }))));
        windows++;
      }
    }
    await Promise.all(reads);
    bytesRead = source.bytesRead;
    await source.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  stalls.disable();
  // maxRSS is the process's high-water mark (KiB), so nothing between samples is missed.
  const peakRssMiB = (process.resourceUsage().maxRSS * 1024) / MiB;
  return { mode, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, tiles, maxStallMs: stalls.max / 1e6, peakRssMiB, startRssMiB, width, height, windows, bytesRead };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      file: { type: 'string', default: '/tmp/cloudseg-jp2-bench/band-10980.jp2' },
      size: { type: 'string', default: '10980' },
      window: { type: 'string', default: '512' },
      'in-flight': { type: 'string', default: '4' },
      modes: { type: 'string', default: MODES.join(',') },
      child: { type: 'string' },
    },
  });
  const file = values.file;
  const window = Number(values.window);
  const inFlight = Number(values['in-flight']);
  if (values.child) {
    console.log(JSON.stringify(await child(values.child as Mode, file, window, inFlight)));
    // The decode pool's idle threads never hold the process open; the reader is not disposed.
    return;
  }
  if (!existsSync(file)) {
    console.error(`writing ${file} with GDAL (a test tool: the product never needs it)...`);
    await run('mkdir', ['-p', file.replace(/\/[^/]*$/, '')]);
    await run('/usr/bin/python3', ['-c', MAKE_BAND_PY, values.size, file], { maxBuffer: 1 << 24 });
  }
  console.error(`${file}: ${((await stat(file)).size / MiB).toFixed(1)} MiB; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} cores`);
  const modes = values.modes.split(',') as Mode[];
  for (const mode of modes) {
    if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}; one of ${MODES.join(', ')}`);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, '--file', file, '--window', String(window), '--in-flight', String(inFlight)], { maxBuffer: 1 << 24 });
    const m = JSON.parse(stdout.trim().split('\n').pop()!) as Measurement;
    console.log(
      `${m.mode.padEnd(8)} ${m.width}x${m.height}  ${m.seconds.toFixed(1)} s  CPU ${m.cpuSeconds.toFixed(1)} s (${((m.cpuSeconds / m.tiles) * 1000).toFixed(0)} ms/tile)  ` +
        `event loop max stall ${m.maxStallMs.toFixed(0)} ms  peak RSS ${m.peakRssMiB.toFixed(0)} MiB (at start ${m.startRssMiB.toFixed(0)})  windows ${m.windows}  read ${(m.bytesRead / MiB).toFixed(0)} MiB  load ${loadavg()[0]!.toFixed(1)}`,
    );
  }
}

await main();
