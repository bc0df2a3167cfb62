// The JPEG 2000 decode of a SAFE product's bands alone, as the scene path reads them (every band's
// window at once, `--in-flight` windows at a time, through openJp2Windows and its decode threads),
// in a process of its own so its peak RSS is its own. Prints one `BENCH_RESULT {json}` line.
//   npx tsx bench/safe-decode.ts --bands a.jp2,b.jp2,... [--window 512] [--in-flight 2] [--decode-threads N]
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { openJp2Windows } from '../shared/imaging/jp2/index.js';
import { fileRangeSource } from '../shared/imaging/range-source.js';

export interface SafeDecodeResult {
  bands: number;
  width: number;
  height: number;
  seconds: number;
  /** User + system time of every thread. */
  cpuSeconds: number;
  /** JPEG 2000 tiles decoded, over every band. */
  tiles: number;
  maxStallMs: number;
  peakRssMb: number;
  cores: number;
}

const { values } = parseArgs({
  options: { bands: { type: 'string' }, window: { type: 'string', default: '512' }, 'in-flight': { type: 'string', default: '2' }, 'decode-threads': { type: 'string' } },
});
if (!values.bands) throw new Error('--bands is required');
const files = values.bands.split(',');
const window = Number(values.window);
const decodeThreads = values['decode-threads'] === undefined ? undefined : Number(values['decode-threads']);

const stalls = monitorEventLoopDelay({ resolution: 10 });
stalls.enable();
const started = performance.now();
const cpuStart = process.cpuUsage();
const sources = await Promise.all(files.map((f) => fileRangeSource(f)));
const readers = await Promise.all(sources.map((s, i) => openJp2Windows(s, { label: files[i]!, expectedBands: 1, decodeThreads })));
const { width, height } = readers[0]!.header;
const limit = pLimit(Number(values['in-flight']));
const reads: Promise<void>[] = [];
for (let y = 0; y < height; y += window) {
  for (let x = 0; x < width; x += window) {
    const w = { x, y, width: Math.min(window, width - x), height: Math.min(window, height - y) };
    // The windows are dropped once read, as the scene path drops them once inferred.
    reads.push(limit(async () => void (await Promise.all(readers.map((r) => r.readWindow(w))))));
  }
}
await Promise.all(reads);
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
stalls.disable();
await Promise.all(sources.map((s) => s.close()));
const tiles = readers.reduce((n, r) => n + Math.ceil(r.header.width / r.block.width) * Math.ceil(r.header.height / r.block.height), 0);
const result: SafeDecodeResult = {
  bands: files.length,
  width,
  height,
  seconds,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  tiles,
  maxStallMs: stalls.max / 1e6,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  cores: availableParallelism(),
};
process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
