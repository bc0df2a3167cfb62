// The inference seam (shaped like Beam's ModelHandler): a model is loaded once per instance and
// then run many times on batches of tiles. Everything the pipeline must know about a model comes
// from its model card, never from code.
import type { ModelIdentity } from '../contracts/result-event.js';

/** The engines a model can run on: ONNX Runtime, or TF.js on one of its backends. */
export const BACKEND_NAMES = ['onnxruntime', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface ScalingPreset {
  scale: number;
  offset: number;
  description?: string;
}

/** The parsed model card (model-card.yaml beside the model files). */
export interface ModelCard {
  name: string;
  version: string;
  format: 'tfjs-layers' | 'tfjs-graph' | 'saved-model';
  /** The model file inside the model directory, e.g. model.json; for a saved-model, the SavedModel directory (`.` for the model directory itself). */
  modelFile: string;
  /** Band names in the order the model expects them. */
  bands: string[];
  /** Named input conversions; `default` names the one used when nothing else says. */
  presets: Record<string, ScalingPreset>;
  defaultPreset: { integer: string; float: string };
  tile: { size: number; overlap: number };
  /** Input height and width must be multiples of this. */
  sizeMultiple: number;
  output: { activation: 'sigmoid' | 'softmax' | 'linear'; cloudChannel: number };
  threshold: number;
  /** saved-model only: the signature (default serving_default) and, when it has several, the input and output to use. */
  signature?: { name: string; input?: string; output?: string };
  licence?: string;
  credit?: string;
}

export interface SegmentationModel {
  readonly identity: ModelIdentity;
  readonly card: ModelCard;
  readonly backend: BackendName;
  /** predict() calls worth keeping in flight at once (1 where the engine holds the event loop). */
  readonly parallelism: number;
  /**
   * Runs the model on `count` tiles of size height x width x bands (NHWC, float32, already scaled)
   * and returns the cloud probability per pixel, count x height x width.
   */
  predict(tiles: Float32Array, count: number, height: number, width: number): Promise<Float32Array>;
  dispose(): void;
}
