// `cloudseg segment`
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging.js';
import { engineOption, numList, withEngine } from './arguments.js';
import { createProgressBar } from './progress-bar.js';
import { shouldDrawProgress } from './progress-line.js';

export function registerSegment(program: Command): void {
  program
    .command('segment')
    .description('segment local images with the same per-image path as the worker; prints one result event per image')
    .argument(
      '<images...>',
      'GeoTIFF or PNG files (bands in the model\'s order), STAC item JSONs or Landsat MTL files (bands beside them), Sentinel-2 .SAFE product folders or their MTD_MSIL1C.xml / MTD_MSIL2A.xml',
    )
    .requiredOption('--out <dir>', 'folder for <file name>.mask.png (and .mask.tif when georeferenced); a SAFE product\'s are <X.SAFE>.mask.png')
    .option('--scale <s>', 'input scale (one number, or one per band separated by commas)', numList)
    .option('--offset <o>', 'input offset (one number, or one per band)', numList)
    .option('--preset <name>', 'a scaling preset of the model card (e.g. landsat8-l1, sentinel2-l1c)')
    .option('--model <dir>', 'model directory (default: the bundled model)')
    .addOption(engineOption())
    .option('--no-progress', 'no progress bar (drawn on stderr for scenes of many tiles, only on a terminal, not under CI or TERM=dumb)')
    .action(async (images: string[], opts: { out: string; scale?: number | number[]; offset?: number | number[]; preset?: string; model?: string; engine?: string; progress: boolean }) => {
      const config = loadConfig({ ...withEngine(process.env, opts.engine), ...(opts.model ? { CLOUDSEG_MODEL_DIR: opts.model } : {}) });
      const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
      const { createStorage } = await import('../../shared/cloud/storage.js');
      const { modelSourceFromConfig } = await import('../../shared/worker/model-source-from-config.js');
      const { localMaskName, segmentFile } = await import('../../shared/worker/segment-files.js');
      const models = modelSourceFromConfig(config, logger, { storage: createStorage(config.projectId) });
      const lease = await models.acquire();
      const model = lease.model;
      const override =
        opts.scale !== undefined || opts.offset !== undefined || opts.preset
          ? { ...(opts.scale !== undefined ? { scale: opts.scale } : {}), ...(opts.offset !== undefined ? { offset: opts.offset } : {}), ...(opts.preset ? { preset: opts.preset } : {}) }
          : null;
      const drawProgress = shouldDrawProgress({ isTTY: process.stderr.isTTY === true, env: process.env, wanted: opts.progress });
      let failed = 0;
      for (const image of images) {
        // The bar's line is ended before the event is printed, so stdout never lands inside it.
        const progress = drawProgress ? createProgressBar(process.stderr, localMaskName(resolve(image))) : null;
        const event = await segmentFile(model, image, {
          outDir: opts.out,
          memoryBudgetBytes: config.worker.memoryBudgetBytes,
          batchTiles: config.model.batchTiles,
          geotiff: config.worker.writeGeoTiff,
          scalingOverride: override,
          ...(progress ? { onProgress: progress.update } : {}),
        }).finally(() => progress?.finish());
        if (event.status === 'failed') failed++;
        process.stdout.write(`${JSON.stringify(event)}\n`);
      }
      lease.release();
      await models.close();
      process.exitCode = failed > 0 ? 1 : 0;
    });
}
