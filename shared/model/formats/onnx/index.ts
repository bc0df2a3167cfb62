// The ONNX model format (`format: onnx`, e.g. a PyTorch network after torch.onnx.export): the file
// is run as it is, by ONNX Runtime natively or on WebAssembly. This folder reads it, checks it
// against the card and says how its tensors meet the tiles; it never rewrites the graph.
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { CloudsegError } from '../../../errors.js';
import type { ModelCard } from '../../types.js';
import { cardFacts, type ModelFormat } from '../types.js';
import { describeOnnxGraph, type OnnxGraphDescription } from './describe-graph.js';
import { planOnnxIo, type OnnxIoPlan } from './plan-io.js';

export { describeOnnxGraph, formatDims, type OnnxGraphDescription } from './describe-graph.js';
export { planOnnxIo, type OnnxIoPlan } from './plan-io.js';

export interface OnnxModelFiles {
  /** The .onnx file (ONNX Runtime for Node resolves external data beside it). */
  path: string;
  bytes: Uint8Array;
  description: OnnxGraphDescription;
  plan: OnnxIoPlan;
  /** External weight files, by the location the graph names them with (checked to exist and be long enough). */
  externalFiles: { location: string; path: string }[];
}

export const onnxFormat = {
  name: 'onnx',
  // The graph is read and checked against the card before any engine: its problems are the
  // model's, the same on every engine, and say so by name. ONNX Runtime only (no TF.js form).
  async load(request) {
    const model = await readOnnxModel(request.dir, request.card);
    // A graph that takes one tile size only gets every tile padded up to it.
    const card = model.plan.fixedSize ? { ...request.card, sizeMultiple: model.plan.fixedSize } : request.card;
    return {
      ...cardFacts(request, card),
      onnxGraph: async () => ({
        bytes: model.bytes,
        path: model.path,
        externalData: model.externalFiles,
        readExternalData: () => readExternalData(model),
        io: model.plan.io,
        inputChannels: card.bands.length,
      }),
    };
  },
} as const satisfies ModelFormat;

/** Reads and checks `<dir>/<card.modelFile>`; MODEL_NOT_FOUND for a missing file or external data file. */
export async function readOnnxModel(dir: string, card: ModelCard): Promise<OnnxModelFiles> {
  const path = join(dir, card.modelFile);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CloudsegError(missing ? 'MODEL_NOT_FOUND' : 'MODEL_LOAD_FAILED', `cannot read ONNX model ${path}: ${(err as Error).message}`, { cause: err });
  }
  const description = describeOnnxGraph(bytes, path);
  const plan = planOnnxIo(description, card, path);
  const externalFiles = await checkExternalData(path, description);
  return { path, bytes, description, plan, externalFiles };
}

/** The external data files' contents, for a runtime that cannot read files itself (WebAssembly). */
export async function readExternalData(model: OnnxModelFiles): Promise<{ path: string; data: Uint8Array }[]> {
  return Promise.all(model.externalFiles.map(async (f) => ({ path: f.location, data: await readFile(f.path) })));
}

// Each location must stay inside the model's folder (a graph must not make the worker read any
// file it likes) and hold the bytes the tensors claim, so a bad reference fails at load by name.
async function checkExternalData(modelPath: string, description: OnnxGraphDescription): Promise<OnnxModelFiles['externalFiles']> {
  const byLocation = new Map<string, number>();
  for (const ref of description.externalData) {
    const clean = normalize(ref.location);
    if (!ref.location || isAbsolute(ref.location) || clean.split(sep).includes('..')) {
      throw new CloudsegError('MODEL_LOAD_FAILED', `${modelPath}: tensor ${ref.tensor} names external data "${ref.location}", which is not a path inside the model's folder`);
    }
    const end = ref.offset + (ref.length ?? 0);
    byLocation.set(ref.location, Math.max(byLocation.get(ref.location) ?? 0, end));
  }
  const files: OnnxModelFiles['externalFiles'] = [];
  for (const [location, needed] of byLocation) {
    const path = join(dirname(modelPath), location);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      throw new CloudsegError('MODEL_NOT_FOUND', `${modelPath} keeps its weights in external data file ${location}, which cannot be read: ${(err as Error).message}`, { cause: err });
    }
    if (size < needed) {
      throw new CloudsegError('MODEL_LOAD_FAILED', `${modelPath}: external data file ${location} has ${size} bytes but the graph's tensors reach byte ${needed} (a partial copy?)`);
    }
    files.push({ location, path });
  }
  return files;
}
