// What the inference threads and their pool say to each other (structured-clone messages).
import type { TensorIo } from '../tensor-io.js';

/** Which build of ONNX Runtime a thread runs: the native addon or the WebAssembly one. */
export type OnnxRuntimeKind = 'node' | 'web';

export interface ThreadInit {
  runtime: OnnxRuntimeKind;
  /** The graph in memory (null when the native runtime reads `modelPath`, which has external data beside it). */
  onnx: ArrayBuffer | null;
  modelPath: string | null;
  /** External weight files by the location the graph names (WebAssembly cannot read files itself). */
  externalData: { path: string; data: ArrayBuffer }[];
  intraOpThreads: number;
  io: TensorIo;
}

export interface RunRequest {
  id: number;
  /** count x height x width x bands float32 (NHWC), transferred. */
  tiles: ArrayBuffer;
  count: number;
  height: number;
  width: number;
  bands: number;
}

export type RunReply = { id: number; ok: true; values: ArrayBuffer } | { id: number; ok: false; message: string };

export type ReadyMessage = { ready: true } | { ready: false; message: string };
