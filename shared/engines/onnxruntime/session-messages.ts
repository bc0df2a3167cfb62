// What the inference threads and their pool say to each other (structured-clone messages).

export interface ThreadInit {
  onnx: ArrayBuffer;
  intraOpThreads: number;
  inputName: string;
  outputName: string;
}

export interface RunRequest {
  id: number;
  /** count x height x width x bands float32, transferred. */
  tiles: ArrayBuffer;
  count: number;
  height: number;
  width: number;
  bands: number;
}

export type RunReply = { id: number; ok: true; probability: ArrayBuffer } | { id: number; ok: false; message: string };

export type ReadyMessage = { ready: true } | { ready: false; message: string };
