// `cloudseg eval`: a model on scenes with ground truth through the worker's per-image path;
// writes metrics.json, confusion.txt and a plot per scene, prints the confusion table (and, for a
// class model, the per-class scores and the N x N matrix).
import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/index.js';
import { CloudsegError } from '../../shared/errors.js';
import { wholeImageMaxPixels } from '../../shared/imaging/memory-budget.js';
import { createLogger } from '../../shared/logging.js';
import { engineOption, num, withEngine } from './arguments.js';

interface EvalOptions {
  images?: string;
  truth?: string;
  manifest?: string;
  root?: string;
  out: string;
  model?: string;
  threshold?: number;
  tile?: number;
  overlap?: number;
  preset?: string;
  labelMap?: string;
  plots: boolean;
  engine?: string;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a model on scenes with ground truth (the worker\'s per-image path): metrics.json, confusion.txt, plots/<scene>.png')
    .option('--images <dir>', 'folder of multi-band images (bands in the model\'s order)')
    .option('--truth <dir>', 'folder of truth masks named like the images (255 = cloud, 1 = cloud, or class 4 = cloud)')
    .option('--manifest <file>', 'YAML/JSON scene list (image | bands | npz, truth, truthEncoding, preset); see scripts/fixture-scenes.yaml')
    .option('--root <dir>', 'folder the manifest paths are relative to (overrides its root)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--model <dir>', 'model directory with model-card.yaml (default: the configured model, pulled from the registry)')
    .option('--threshold <t>', 'cloud probability threshold (default: the card\'s)', num)
    .option('--tile <px>', 'tile size (default: the card\'s)', num)
    .option('--overlap <px>', 'tile overlap (default: the card\'s)', num)
    .option('--preset <name>', 'scaling preset for every scene, beating the scenes\' own (e.g. landsat8-l1)')
    .option(
      '--label-map <spec>',
      'class models: truth code -> class name or value of the card, e.g. 4:cloud,0:shadow,1-3:clear (a code may map to nodata), or a YAML/JSON file of that mapping; beats the scenes\' own labelMap',
    )
    .option('--no-plots', 'skip the per-scene PNG plots')
    .addOption(engineOption())
    .action(async (opts: EvalOptions) => {
      const byFolders = opts.images !== undefined || opts.truth !== undefined;
      if (byFolders === (opts.manifest !== undefined) || (byFolders && (!opts.images || !opts.truth))) {
        throw new CloudsegError('CONFIG_INVALID', 'give either --images DIR --truth DIR or --manifest FILE');
      }
      const config = loadConfig(withEngine(process.env, opts.engine));
      // A model directory (what `model import-keras` writes), or the one the pipeline would use.
      const { createStorage } = await import('../../shared/cloud/storage.js');
      const { modelDirFromConfig } = await import('../../shared/worker/model-source-from-config.js');
      const modelDir = opts.model ?? (await modelDirFromConfig(config, { storage: createStorage(config.projectId) }));
      const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
      const { loadModelFromDir } = await import('../../shared/model/load.js');
      const { evaluateModel, formatConfusionTable } = await import('../../shared/lifecycle/evaluate.js');
      const { readSceneManifest, scenesFromFolders } = await import('../../shared/lifecycle/eval-scenes.js');
      const scenes = opts.manifest
        ? await readSceneManifest(opts.manifest, opts.root ? { root: opts.root } : {})
        : await scenesFromFolders(opts.images!, opts.truth!);
      // Parsed before the model loads: a typo in the map is one line, not a minute of loading first.
      const { readLabelMapArgument } = await import('../../shared/lifecycle/label-map.js');
      const labelMap = opts.labelMap !== undefined ? await readLabelMapArgument(opts.labelMap) : undefined;
      const { modelLoadOptions } = await import('../../shared/worker/model-source-from-config.js');
      const model = await loadModelFromDir(modelDir, modelLoadOptions(config, logger));
      try {
        const report = await evaluateModel(model, scenes, {
          outDir: opts.out,
          // Evaluation keeps whole rasters (plots, overlays): the whole-image share of the budget.
          maxPixels: wholeImageMaxPixels(config.worker.memoryBudgetBytes),
          batchTiles: config.model.batchTiles,
          plots: opts.plots,
          logger,
          ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
          ...(opts.tile !== undefined ? { tileSize: opts.tile } : {}),
          ...(opts.overlap !== undefined ? { overlap: opts.overlap } : {}),
          ...(opts.preset ? { preset: opts.preset } : {}),
          ...(labelMap ? { labelMap } : {}),
        });
        process.stdout.write(formatConfusionTable(report));
      } finally {
        model.dispose();
      }
    });
}
