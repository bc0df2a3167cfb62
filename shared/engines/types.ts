// The engines' side of the seam: what a model format hands them (an ONNX graph and/or what TF.js
// loads) and what every engine hands back (a network that turns NHWC tiles into the card's
// probabilities). The engines differ in how (TF.js in-process, ONNX Runtime in threads), not in what.
import type { io } from '@tensorflow/tfjs';
import type { Logger } from '../logging.js';
import type { TensorIo } from './tensor-io.js';

/**
 * The engines a model can run on: ONNX Runtime natively (`onnxruntime`) or on WebAssembly
 * (`wasm`, onnxruntime-web: any ONNX graph, about twice TF.js wasm's speed), or TF.js on one of its
 * backends (`tfjs-node` native TensorFlow, `tfjs-wasm`, `cpu`) for graphs the exporter cannot convert.
 */
export const BACKEND_NAMES = ['onnxruntime', 'tfjs-node', 'wasm', 'tfjs-wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** An ONNX graph ready for ONNX Runtime: read from the registry as it is, or exported by cloudseg. */
export interface OnnxGraph {
  bytes: Uint8Array;
  /** The .onnx file (the native runtime reads external data beside it); null for a graph made in memory. */
  path: string | null;
  /** External weight files, by the location the graph names them with. */
  externalData: { location: string; path: string }[];
  /** The external data files' contents, for a runtime that cannot read files itself (WebAssembly). */
  readExternalData(): Promise<{ path: string; data: Uint8Array }[]>;
  /** Where the graph's tensors meet the pipeline's tiles. */
  io: TensorIo;
  /** Input channels the graph declares (null when it leaves them open). */
  inputChannels: number | null;
}

/** What TF.js loads: model.json artifacts in memory, or a SavedModel tfjs-node runs natively. */
export interface TfjsModelSource {
  kind: 'layers' | 'graph';
  /** The artifacts for tf.io.fromMemory (read once, shared by the engines tried). */
  artifacts(): Promise<io.ModelArtifacts>;
  /** A SavedModel directory tfjs-node's native TensorFlow can load itself, with the tags and signature to serve. */
  savedModel?: { path: string; tags: string[]; signature: string };
}

/**
 * A model as a format hands it to the engines. A format offers what it can: `onnxGraph` for ONNX
 * Runtime (node and web), `tfjs` for the TF.js engines; an engine whose form is absent cannot run it.
 */
export interface EngineModel {
  /** The model's name (logs). */
  readonly name: string;
  /** The model format's name (logs, messages). */
  readonly format: string;
  /** The model directory (messages). */
  readonly dir: string;
  /** Bands per pixel of the tiles run. */
  readonly bands: number;
  /** How the TF.js engines read the network's output: the cloud channel and whether it holds logits. */
  readonly output: { activation: 'sigmoid' | 'softmax' | 'linear'; cloudChannel: number };
  readonly onnxGraph?: () => Promise<OnnxGraph>;
  readonly tfjs?: TfjsModelSource;
}

export interface EngineNetwork {
  readonly engine: BackendName;
  /** run() calls worth keeping in flight at once (1 for engines that hold the event loop). */
  readonly parallelism: number;
  /** Input channels the network declares (null when it leaves them open). */
  readonly inputChannels: number | null;
  /** count x height x width x bands (NHWC float32) -> count x height x width cloud probability, or x classes (channels last). */
  run(tiles: Float32Array, count: number, height: number, width: number): Promise<Float32Array>;
  /** Live engine tensors (TF.js leak checks); 0 where the engine has none to count. */
  numTensors(): number;
  dispose(): Promise<void>;
}

export interface EngineLoadRequest {
  model: EngineModel;
  batchTiles: number;
  logger?: Logger;
}

/** How the ONNX Runtime engine spreads over the cores. */
export interface OnnxThreading {
  /** Threads with one session each. */
  sessions: number;
  /** Intra-op threads per session. */
  intraOpThreads: number;
}
