// What every engine hands back to the model loader: a network that turns NHWC tiles into the
// card's cloud probability. The engines differ in how (TF.js in-process, ONNX Runtime in threads),
// not in what, so the loader wraps any of them into the same SegmentationModel.
import type { Logger } from '../logging.js';
import type { OnnxModelFiles } from '../model/formats/onnx/index.js';
import type { ModelArtifacts } from '../model/layers-artifacts.js';
import type { BackendName, ModelCard } from '../model/types.js';

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
  dir: string;
  card: ModelCard;
  /** The DVC md5 of the model directory: the key under which derived artefacts are cached. */
  md5: string;
  /** The model.json and shards, read once and shared by the engines tried. */
  artifacts: () => Promise<ModelArtifacts>;
  /** format onnx: the graph, read and checked against the card once, shared by the engines tried. */
  onnxModel: () => Promise<OnnxModelFiles>;
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
