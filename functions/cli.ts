#!/usr/bin/env node
// The `cloudseg` command line: a thin shell over shared/ and infra/local.
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../shared/config/index.js';
import { createLogger } from '../shared/logging.js';

const program = new Command()
  .name('cloudseg')
  .description('Cloud segmentation of satellite images: locally, or as a pipeline on Google Cloud.')
  .showHelpAfterError();

const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${v} is not a number`);
  return n;
};
const numList = (v: string) => {
  const parts = v.split(',').map(num);
  return parts.length === 1 ? parts[0]! : parts;
};

program
  .command('segment')
  .description('segment local images with the same per-image path as the worker; prints one result event per image')
  .argument('<images...>', 'GeoTIFF or PNG files, bands in the model\'s order')
  .requiredOption('--out <dir>', 'folder for <name>.mask.png (and .mask.tif when georeferenced)')
  .option('--scale <s>', 'input scale (one number, or one per band separated by commas)', numList)
  .option('--offset <o>', 'input offset (one number, or one per band)', numList)
  .option('--preset <name>', 'a scaling preset of the model card (e.g. landsat8-l1, sentinel2-l1c)')
  .option('--model <dir>', 'model directory (default: the bundled model)')
  .action(async (images: string[], opts: { out: string; scale?: number | number[]; offset?: number | number[]; preset?: string; model?: string }) => {
    const config = loadConfig({ ...process.env, ...(opts.model ? { CLOUDSEG_MODEL_DIR: opts.model } : {}) });
    const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
    const { loadModelFromDir } = await import('../shared/model/load.js');
    const { segmentFile } = await import('../shared/worker/segment-files.js');
    const model = await loadModelFromDir(config.model.dir, { backend: config.model.backend, batchTiles: config.model.batchTiles, logger });
    const override =
      opts.scale !== undefined || opts.offset !== undefined || opts.preset
        ? { ...(opts.scale !== undefined ? { scale: opts.scale } : {}), ...(opts.offset !== undefined ? { offset: opts.offset } : {}), ...(opts.preset ? { preset: opts.preset } : {}) }
        : null;
    let failed = 0;
    for (const image of images) {
      const event = await segmentFile(model, image, {
        outDir: opts.out,
        maxPixels: config.worker.maxPixels,
        batchTiles: config.model.batchTiles,
        geotiff: config.worker.writeGeoTiff,
        scalingOverride: override,
      });
      if (event.status === 'failed') failed++;
      process.stdout.write(`${JSON.stringify(event)}\n`);
    }
    model.dispose();
    process.exitCode = failed > 0 ? 1 : 0;
  });

program
  .command('stack')
  .description('stack single-band rasters (uint16 or float32 TIFF) into one multi-band GeoTIFF, keeping the first band\'s georeference')
  .argument('<bands...>', 'one file per band, in the model\'s band order (e.g. B02 B03 B04 B08)')
  .requiredOption('-o, --output <file>', 'the multi-band GeoTIFF to write')
  .option('--scale <s>', 'record this GDAL scale in the file (one number or one per band)', numList)
  .option('--offset <o>', 'record this GDAL offset in the file', numList)
  .action(async (bands: string[], opts: { output: string; scale?: number | number[]; offset?: number | number[] }) => {
    const { readFile, writeFile } = await import('node:fs/promises');
    const { stackBands } = await import('../shared/imaging/stack.js');
    const inputs = await Promise.all(bands.map((b) => readFile(b)));
    const n = bands.length;
    const perBand = (v: number | number[] | undefined, fallback: number) =>
      v === undefined ? Array<number>(n).fill(fallback) : Array.isArray(v) ? v : Array<number>(n).fill(v);
    const scaling = opts.scale !== undefined || opts.offset !== undefined ? { scale: perBand(opts.scale, 1), offset: perBand(opts.offset, 0) } : null;
    const out = await stackBands(inputs, { scaling });
    await writeFile(opts.output, out);
    process.stdout.write(`${JSON.stringify({ output: opts.output, bands: n, bytes: out.length })}\n`);
  });

program
  .command('demo')
  .description('run the whole pipeline locally on the bundled sample scenes and print what came back')
  .option('--out <dir>', 'folder for the masks and overlays', 'out/demo')
  .action(async (opts: { out: string }) => {
    const config = loadConfig(process.env);
    const { runDemo } = await import('../infra/local/demo.js');
    const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
    const rows = await runDemo({ outDir: opts.out, logger });
    process.exitCode = rows.every((r) => r.status === 'succeeded' || r.status === 'duplicate') ? 0 : 1;
  });

program
  .command('local')
  .description('keep the whole pipeline running on this machine: drop files into a folder, watch results')
  .option('--root <dir>', 'where the local buckets live (default out/local)')
  .option('--flush-every <seconds>', 'how often the scheduler calls flush', num, 10)
  .action(async (opts: { root?: string; flushEvery: number }) => {
    const config = loadConfig(process.env);
    const { runLocal } = await import('../infra/local/run-local.js');
    const logger = createLogger({ level: config.logLevel });
    const stack = await runLocal({ flushEverySeconds: opts.flushEvery, logger, ...(opts.root ? { rootDir: opts.root } : {}) });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    process.stdout.write('stopping...\n');
    await stack.stop();
  });

program
  .command('results')
  .description('subscribe to the results topic and print each result event as a JSON line')
  .requiredOption('--subscription <name>', 'a subscription on the results topic')
  .option('--status <status>', 'print only events with this status')
  .action(async (opts: { subscription: string; status?: string }) => {
    const config = loadConfig(process.env);
    const { createPubSub } = await import('../shared/cloud/pubsub.js');
    const pubsub = createPubSub(config.projectId);
    const subscription = pubsub.subscription(opts.subscription);
    subscription.on('message', (message) => {
      if (!opts.status || message.attributes.status === opts.status) process.stdout.write(`${message.data.toString()}\n`);
      message.ack();
    });
    subscription.on('error', (err) => {
      process.stderr.write(`results: ${err.message}\n`);
      process.exitCode = 1;
      void subscription.close().then(() => pubsub.close());
    });
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    await subscription.close();
    await pubsub.close();
  });

await program.parseAsync(process.argv);
