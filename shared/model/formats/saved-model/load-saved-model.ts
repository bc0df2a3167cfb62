// Reads a SavedModel directory (saved_model.pb + variables/) and freezes the signature a model
// card names into a FrozenGraph with exactly one input and one output: what the engines run.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudsegError } from '../../../errors.js';
import { readVariablesBundle } from './bundle.js';
import { DEFAULT_SIGNATURE, freezeSignature } from './freeze.js';
import type { FrozenGraph, SignatureTensor } from './frozen-graph.js';
import { decodeSavedModel, type MetaGraphDef } from './tf-protos.js';

export interface SignatureChoice {
  /** @default 'serving_default' */
  name?: string;
  /** The signature input the tiles feed (required when it has several). */
  input?: string;
  /** The signature output read as the segmentation (required when it has several). */
  output?: string;
}

const SERVE_TAG = 'serve';

/** The whole signature, frozen (every input and output kept). */
export async function readSavedModelSignature(savedModelDir: string, signatureName = DEFAULT_SIGNATURE): Promise<FrozenGraph> {
  const pbPath = join(savedModelDir, 'saved_model.pb');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(pbPath);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CloudsegError(missing ? 'MODEL_NOT_FOUND' : 'MODEL_LOAD_FAILED', `cannot read ${pbPath}: ${(err as Error).message}`, { cause: err });
  }
  let metaGraph: MetaGraphDef;
  try {
    metaGraph = serveMetaGraph(decodeSavedModel(bytes).meta_graphs, pbPath);
  } catch (err) {
    if (err instanceof CloudsegError) throw err;
    throw new CloudsegError('MODEL_LOAD_FAILED', `${pbPath} is not a SavedModel: ${(err as Error).message}`, { cause: err });
  }
  const bundle = await readVariablesBundle(join(savedModelDir, 'variables'));
  return freezeSignature(metaGraph, bundle, signatureName, savedModelDir);
}

/** The signature frozen down to the one input and one output the card names. */
export async function loadSavedModelGraph(savedModelDir: string, choice: SignatureChoice = {}): Promise<FrozenGraph> {
  const graph = await readSavedModelSignature(savedModelDir, choice.name ?? DEFAULT_SIGNATURE);
  const input = pick(graph.inputs, choice.input, 'input', graph.signature);
  const output = pick(graph.outputs, choice.output, 'output', graph.signature);
  const needed = reachable(graph, output);
  if (!needed.has(input.tensor.node)) {
    throw new CloudsegError('MODEL_CARD_INVALID', `signature ${graph.signature}: output ${output.key} does not depend on input ${input.key}`, {
      details: { fields: ['signature.input'] },
    });
  }
  // Another input the output needs would be left unfed.
  for (const other of graph.inputs) {
    if (other !== input && needed.has(other.tensor.node)) {
      throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `signature ${graph.signature}: output ${output.key} also needs input ${other.key}; cloudseg feeds one input`);
    }
  }
  return { ...graph, nodes: graph.nodes.filter((n) => needed.has(n.name)), inputs: [input], outputs: [output] };
}

function pick(tensors: SignatureTensor[], key: string | undefined, what: 'input' | 'output', signature: string): SignatureTensor {
  const keys = tensors.map((t) => t.key).join(', ');
  if (key === undefined) {
    if (tensors.length === 1) return tensors[0]!;
    throw new CloudsegError('MODEL_CARD_INVALID', `signature.${what}: signature ${signature} has ${tensors.length} ${what}s (${keys}); the card must name one`, {
      details: { fields: [`signature.${what}`] },
    });
  }
  const found = tensors.find((t) => t.key === key);
  if (!found) {
    throw new CloudsegError('MODEL_CARD_INVALID', `signature.${what}: signature ${signature} has no ${what} ${key} (it has: ${keys})`, {
      details: { fields: [`signature.${what}`] },
    });
  }
  return found;
}

function reachable(graph: FrozenGraph, output: SignatureTensor): Set<string> {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const seen = new Set<string>();
  const stack = [output.tensor.node];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const input of byName.get(name)?.inputs ?? []) stack.push(input.node);
  }
  return seen;
}

// TF2 SavedModels hold one MetaGraph tagged `serve`; TF1 ones may hold several, one per tag set.
function serveMetaGraph(metaGraphs: MetaGraphDef[], where: string): MetaGraphDef {
  const serve = metaGraphs.filter((m) => m.meta_info_def?.tags.includes(SERVE_TAG));
  const chosen = serve.length > 0 ? serve : metaGraphs.length === 1 ? metaGraphs : [];
  if (chosen.length === 0) {
    const tags = metaGraphs.map((m) => `[${m.meta_info_def?.tags.join(',') ?? ''}]`).join(' ');
    throw new CloudsegError('MODEL_LOAD_FAILED', `${where} has no MetaGraph tagged ${SERVE_TAG} (tags: ${tags || 'none'})`);
  }
  return chosen[0]!;
}
