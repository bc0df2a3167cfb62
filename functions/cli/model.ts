// `cloudseg model import-keras`: the upstream Keras HDF5 model -> a TF.js model directory with its card.
// `cloudseg model import-onnx`: an ONNX export -> a model directory with a card read off its graph.
import { basename, extname, join } from 'node:path';
import { Option, type Command } from 'commander';
import { projectRoot } from '../../shared/config/project-root.js';
import { CloudsegError } from '../../shared/errors.js';
import { num } from './arguments.js';

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
      const { readLifecycleParams } = await import('../../shared/lifecycle/lifecycle-params.js');
      const { importKerasModel } = await import('../../shared/lifecycle/keras-import/index.js').catch((err: unknown) => {
        // h5wasm is a devDependency: the Keras import runs in the repository, not in the function.
        if (/h5wasm/.test(String((err as Error).message))) {
          throw new CloudsegError('CONFIG_INVALID', 'the Keras import needs h5wasm, a devDependency: run it in a checkout after `npm ci` (not an install with --omit=dev)', { cause: err });
        }
        throw err;
      });
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
  registerImportOnnx(model);
}

const IMPORT_ONNX_HELP = `
The card is read off the graph: the band axis and layout from the input's dims, the output
activation from the op writing it (Softmax -> softmax, Sigmoid -> sigmoid, else linear logits), and
tile.size from a fixed-size input. A one-channel output without --classes is a cloud mask card
with a threshold; --classes makes a class card (values 0..N-1 in the order given, kind from
name:kind or else the name: clear, cloud, thin-cloud/thin, shadow/cloud-shadow, snow, water,
nodata, anything else other). --params checks the seed's model.n_classes and model.in_channels
against the graph; with n_classes > 1 the classes must still be named with --classes (a guessed
name or order would mislabel every mask). Nothing is written when anything disagrees.`;

function registerImportOnnx(model: Command): void {
  model
    .command('import-onnx')
    .description('copy an ONNX model (e.g. torch.onnx.export) and its external data into a model directory with a model-card.yaml read off the graph')
    .argument('<model.onnx>', 'ONNX file (external data files beside it, as the graph names them)')
    .requiredOption('-o, --out <dir>', 'model directory to write (new or empty)')
    .requiredOption('--bands <names>', 'band names in input order, comma-separated (e.g. blue,green,red,nir)')
    .option('--classes <list>', 'a class model: its output channels in order as name[:kind], comma-separated (e.g. clear,cloud,shadow:shadow)')
    .option('--params <file>', "the seed project's params.yaml (model.n_classes, model.in_channels), checked against the graph")
    .option('--threshold <p>', 'cloud probability threshold of a one-channel model (default: model.threshold of --lifecycle-params)', num)
    .option('--preset <name>', 'the preset integer inputs get by default (default: defaultPreset.integer of --lifecycle-params)')
    .option('--size-multiple <n>', 'input height and width must be multiples of this (default: model.sizeMultiple of --lifecycle-params; a fixed-size graph: its size)', num)
    .addOption(new Option('--layout <layout>', "the input's layout, when its dims do not tell").choices(['NCHW', 'NHWC']))
    .option('--name <name>', 'card name (default: the file name, lower-cased)')
    .option('--version <version>', 'card version', '1.0.0')
    .option('--licence <text>', 'licence line for the card')
    .option('--credit <text>', 'credit line for the card')
    .option('--lifecycle-params <file>', 'params.yaml with threshold, tile, overlap and presets', join(projectRoot(), 'params.yaml'))
    .addHelpText('after', IMPORT_ONNX_HELP)
    .action(async (onnx: string, opts: ImportOnnxFlags) => {
      const { readLifecycleParams } = await import('../../shared/lifecycle/lifecycle-params.js');
      const { importOnnxModel, parseClassList, readSeedParams } = await import('../../shared/lifecycle/onnx-import/index.js');
      const imported = await importOnnxModel(onnx, {
        outDir: opts.out,
        params: await readLifecycleParams(opts.lifecycleParams),
        name: opts.name ?? basename(onnx, extname(onnx)).toLowerCase().replace(/[^a-z0-9._-]/g, '-'),
        version: opts.version,
        bands: opts.bands.split(',').map((b) => b.trim()).filter(Boolean),
        ...(opts.classes !== undefined ? { classes: parseClassList(opts.classes) } : {}),
        ...(opts.params ? { seed: await readSeedParams(opts.params) } : {}),
        ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
        ...(opts.preset ? { preset: opts.preset } : {}),
        ...(opts.sizeMultiple !== undefined ? { sizeMultiple: opts.sizeMultiple } : {}),
        ...(opts.layout ? { layout: opts.layout } : {}),
        ...(opts.licence ? { licence: opts.licence } : {}),
        ...(opts.credit ? { credit: opts.credit } : {}),
      });
      const { card, graph } = imported;
      process.stdout.write(
        `${JSON.stringify({
          outDir: imported.outDir,
          files: imported.files,
          name: card.name,
          version: card.version,
          bands: card.bands,
          layout: imported.plan.io.inputLayout,
          activation: card.output.activation,
          ...(card.classes ? { classes: card.classes } : { threshold: card.threshold }),
          tile: card.tile,
          sizeMultiple: card.sizeMultiple,
          input: graph.inputs.map((v) => ({ name: v.name, dims: v.dims })),
          output: graph.outputs.map((v) => ({ name: v.name, dims: v.dims, op: graph.outputOps[v.name] ?? null })),
          sourceMd5: imported.sourceMd5,
        })}\n`,
      );
    });
}

interface ImportOnnxFlags {
  out: string;
  bands: string;
  classes?: string;
  params?: string;
  threshold?: number;
  preset?: string;
  sizeMultiple?: number;
  layout?: 'NCHW' | 'NHWC';
  name?: string;
  version: string;
  licence?: string;
  credit?: string;
  lifecycleParams: string;
}
