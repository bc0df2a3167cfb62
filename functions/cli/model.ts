// `cloudseg model import-keras`: the upstream Keras HDF5 model -> a TF.js model directory with its card.
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { projectRoot } from '../../shared/config/project-root.js';
import { CloudsegError } from '../../shared/errors.js';

export function registerModel(program: Command): void {
  const model = program.command('model').description('model lifecycle: import upstream models');
  model
    .command('import-keras')
    .description('convert a Keras HDF5 model (config + weights) into a TF.js Layers model.json, weight shard and model-card.yaml')
    .argument('<model.hdf5>', 'Keras HDF5 file (model_config + model_weights)')
    .requiredOption('-o, --out <dir>', 'model directory to write')
    .option('--variant <key>', 'take name, version, bands, licence and credit from params.yaml variants.<key>')
    .option('--name <name>', 'card name (default: the file name, lower-cased)')
    .option('--version <version>', 'card version', '1.0.0')
    .option('--bands <names>', 'band names in input order, comma-separated (e.g. blue,green,red,nir)')
    .option('--licence <text>', 'licence line for the card')
    .option('--credit <text>', 'credit line for the card')
    .option('--params <file>', 'params.yaml with threshold, tile, overlap and presets', join(projectRoot(), 'params.yaml'))
    .action(async (hdf5: string, opts: { out: string; variant?: string; name?: string; version: string; bands?: string; licence?: string; credit?: string; params: string }) => {
      const { readLifecycleParams } = await import('../../shared/model/lifecycle-params.js');
      const { importKerasModel } = await import('../../shared/model/keras-import/index.js');
      const params = await readLifecycleParams(opts.params);
      const variant = opts.variant ? params.variants[opts.variant] : undefined;
      if (opts.variant && !variant) {
        throw new CloudsegError('CONFIG_INVALID', `no variant ${opts.variant} in ${opts.params} (have: ${Object.keys(params.variants).join(', ')})`);
      }
      const bands = opts.bands ? opts.bands.split(',').map((b) => b.trim()).filter(Boolean) : variant?.bands;
      if (!bands || bands.length === 0) throw new CloudsegError('CONFIG_INVALID', 'say which bands the model takes: --bands blue,green,red,nir or --variant KEY');
      const licence = opts.licence ?? variant?.licence;
      const credit = opts.credit ?? variant?.credit;
      const imported = await importKerasModel(hdf5, {
        outDir: opts.out,
        params,
        identity: {
          name: opts.name ?? variant?.name ?? basename(hdf5, extname(hdf5)).toLowerCase().replace(/[^a-z0-9._-]/g, '-'),
          version: variant && opts.version === '1.0.0' ? variant.version : opts.version,
          bands,
          ...(licence ? { licence } : {}),
          ...(credit ? { credit } : {}),
        },
      });
      process.stdout.write(
        `${JSON.stringify({ outDir: imported.outDir, files: imported.files, name: imported.card.name, version: imported.card.version, bands: imported.card.bands, parameters: imported.parameters, layerClasses: imported.layerClasses, sourceMd5: imported.sourceMd5 })}\n`,
      );
    });
}
