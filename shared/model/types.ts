// The inference seam (shaped like Beam's ModelHandler): a model is loaded once per instance and
// then run many times on batches of tiles. Everything the pipeline must know about a model comes
// from its model card, never from code.
import type { ModelIdentity } from '../contracts/result-event.js';
import type { BackendName } from '../engines/types.js';
import type { TensorLayout } from '../engines/tensor-io.js';
import type { ClassKind } from '../imaging/mask-values.js';

// The engines own the names of engines and tensor layouts; the model side names them too.
export { BACKEND_NAMES, type BackendName } from '../engines/types.js';
export { TENSOR_LAYOUTS, type TensorLayout } from '../engines/tensor-io.js';

export interface ScalingPreset {
  scale: number;
  offset: number;
  description?: string;
}

/** The model formats a card may name; each has its folder in formats/ and its entry in formats/index.ts. */
export const MODEL_FORMATS = ['tfjs-layers', 'tfjs-graph', 'saved-model', 'onnx'] as const;
export type ModelFormatName = (typeof MODEL_FORMATS)[number];

/** One class of a class model: the mask byte it writes, its name, what it means, its colour. */
export interface CardClass {
  value: number;
  name: string;
  kind: ClassKind;
  /** '#rrggbb'; absent: the kind's colour (KIND_COLOURS). */
  color?: string;
}

/** The parsed model card (model-card.yaml beside the model files). */
export interface ModelCard {
  name: string;
  version: string;
  format: ModelFormatName;
  /** The model file inside the model directory, e.g. model.json or model.onnx; for a saved-model, the SavedModel directory (`.` for the model directory itself). */
  modelFile: string;
  /** Band names in the order the model expects them. */
  bands: string[];
  /** Named input conversions; `default` names the one used when nothing else says. */
  presets: Record<string, ScalingPreset>;
  defaultPreset: { integer: string; float: string };
  tile: { size: number; overlap: number };
  /** Input height and width must be multiples of this. */
  sizeMultiple: number;
  /** onnx only: the image input's layout when the graph's dims fit both (else read from the graph). */
  input?: { layout?: TensorLayout };
  output: { activation: 'sigmoid' | 'softmax' | 'linear'; cloudChannel: number };
  /** Cloud probability threshold of a one-channel (cloud mask) model; unused by class models. */
  threshold: number;
  /**
   * A class model: one output channel per class, in this order; the mask holds the value of the
   * most probable class per pixel. Absent: the cloud mask of output.cloudChannel (0/255/128).
   */
  classes?: CardClass[];
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
  /** Values per pixel predict() returns: 1 (the cloud probability) or the card's class count. */
  readonly outputChannels: number;
  /**
   * Runs the model on `count` tiles of size height x width x bands (NHWC, float32, already scaled)
   * and returns, per pixel, the cloud probability (count x height x width) or, for a class model,
   * each class's probability (count x height x width x classes, channels last).
   */
  predict(tiles: Float32Array, count: number, height: number, width: number): Promise<Float32Array>;
  dispose(): void;
}
