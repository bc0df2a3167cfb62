// `cloudseg stack`
import type { Command } from 'commander';
import { numList } from './arguments.js';

export function registerStack(program: Command): void {
  program
    .command('stack')
    .description('stack single-band rasters (uint16 or float32 TIFF) into one multi-band GeoTIFF, keeping the first band\'s georeference')
    .argument('<bands...>', 'one file per band, in the model\'s band order (e.g. B02 B03 B04 B08)')
    .requiredOption('-o, --output <file>', 'the multi-band GeoTIFF to write')
    .option('--scale <s>', 'record this GDAL scale in the file (one number or one per band)', numList)
    .option('--offset <o>', 'record this GDAL offset in the file', numList)
    .action(async (bands: string[], opts: { output: string; scale?: number | number[]; offset?: number | number[] }) => {
      const { readFile, writeFile } = await import('node:fs/promises');
      const { stackBands } = await import('../../shared/imaging/stack.js');
      const inputs = await Promise.all(bands.map((b) => readFile(b)));
      const n = bands.length;
      const perBand = (v: number | number[] | undefined, fallback: number) =>
        v === undefined ? Array<number>(n).fill(fallback) : Array.isArray(v) ? v : Array<number>(n).fill(v);
      const scaling = opts.scale !== undefined || opts.offset !== undefined ? { scale: perBand(opts.scale, 1), offset: perBand(opts.offset, 0) } : null;
      const out = await stackBands(inputs, { scaling });
      await writeFile(opts.output, out);
      process.stdout.write(`${JSON.stringify({ output: opts.output, bands: n, bytes: out.length })}\n`);
    });
}
