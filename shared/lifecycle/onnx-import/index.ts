// `import-onnx`: an ONNX export (e.g. torch.onnx.export) -> a model directory the pipeline loads
// like any registry model: the graph as model.onnx, its external data files, and model-card.yaml.
// The graph is copied byte for byte; only the card is new, and it is refused before anything is written.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, normalize } from 'node:path';
import { CloudsegError } from '../../errors.js';
import { MODEL_CARD_FILE } from '../../model/card.js';
import { describeOnnxGraph, formatDims, readOnnxModel, type OnnxGraphDescription, type OnnxIoPlan } from '../../model/formats/onnx/index.js';
import type { ModelCard } from '../../model/types.js';
import { cardFromGraph, ONNX_MODEL_FILE, type OnnxCardRequest } from './card-from-graph.js';

export { activationOf, cardFromGraph, ONNX_MODEL_FILE, type OnnxCard, type OnnxCardRequest } from './card-from-graph.js';
export { kindFromName, parseClassList } from './class-list.js';
export { parseSeedParams, readSeedParams, type SeedParams } from './seed-params.js';

export interface ImportOnnxOptions extends OnnxCardRequest {
  outDir: string;
}

export interface ImportedOnnxModel {
  outDir: string;
  /** Written files, relative to outDir. */
  files: string[];
  card: ModelCard;
  graph: OnnxGraphDescription;
  plan: OnnxIoPlan;
  sourceMd5: string;
}

export async function importOnnxModel(onnxPath: string, options: ImportOnnxOptions): Promise<ImportedOnnxModel> {
  const { outDir, ...request } = options;
  const bytes = await readSource(onnxPath);
  const graph = describeOnnxGraph(bytes, onnxPath);
  const { card, yaml, plan } = cardFromGraph(graph, request, onnxPath);
  // The worker's own read of the source, beside its external data: a missing, short or escaping
  // external file is refused here, by name, and not on the first load after registering.
  const source = await readOnnxModel(dirname(onnxPath), { ...card, modelFile: basename(onnxPath) });
  const external = source.externalFiles.map((f) => ({ ...f, location: normalize(f.location) }));
  for (const { location } of external) {
    if (location === ONNX_MODEL_FILE || location === MODEL_CARD_FILE) {
      throw new CloudsegError('CONFIG_INVALID', `${onnxPath} keeps external data in a file named ${location}, which the model directory needs for itself; re-export with another location`);
    }
  }
  const files = [ONNX_MODEL_FILE, ...external.map((f) => f.location), MODEL_CARD_FILE];
  await checkOutDir(outDir, files);

  const sourceMd5 = createHash('md5').update(bytes).digest('hex');
  await mkdir(outDir, { recursive: true });
  await copyFile(onnxPath, join(outDir, ONNX_MODEL_FILE));
  for (const f of external) {
    await mkdir(dirname(join(outDir, f.location)), { recursive: true });
    await copyFile(f.path, join(outDir, f.location));
  }
  await writeFile(join(outDir, MODEL_CARD_FILE), `${cardHeader(onnxPath, sourceMd5, graph)}${yaml}`);
  return { outDir, files, card, graph, plan, sourceMd5 };
}

async function readSource(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CloudsegError(missing ? 'MODEL_NOT_FOUND' : 'MODEL_LOAD_FAILED', `cannot read ONNX model ${path}: ${(err as Error).message}`, { cause: err });
  }
}

// A registered directory is hashed whole: a stale file from an earlier import would ship with the
// model. Re-importing over the same files is fine; anything else there is refused.
async function checkOutDir(outDir: string, files: string[]): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(outDir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CloudsegError('CONFIG_INVALID', `cannot use ${outDir} as the model directory: ${(err as Error).message}`, { cause: err });
  }
  const ours = new Set(files.flatMap((f) => ancestors(f)));
  const others = entries.map(normalize).filter((e) => !ours.has(e));
  if (others.length > 0) {
    throw new CloudsegError('CONFIG_INVALID', `${outDir} already holds ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}; import into an empty (or new) directory`);
  }
}

/** `a/b/c` -> a, a/b, a/b/c (readdir lists the folders too). */
function ancestors(rel: string): string[] {
  const parts = normalize(rel).split(/[\\/]/);
  return parts.map((_, i) => join(...parts.slice(0, i + 1)));
}

function cardHeader(onnxPath: string, md5: string, graph: OnnxGraphDescription): string {
  const output = graph.outputs[0]!;
  const io = `${graph.inputs.map((v) => `${v.name} ${formatDims(v.dims)}`).join(', ')} -> ${output.name} ${formatDims(output.dims)} (written by ${graph.outputOps[output.name] ?? 'no op'})`;
  return [
    '# What the pipeline must know about this model; nothing of it is hard-coded elsewhere.',
    `# Written by \`cloudseg model import-onnx\` from ${basename(onnxPath)} (md5 ${md5}, ${graph.producer || 'unknown producer'}, opset ${graph.opset ?? '?'}) and params.yaml.`,
    `# Graph: ${io}.`,
    '',
  ].join('\n');
}
