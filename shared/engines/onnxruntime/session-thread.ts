// The body of one inference thread: it owns one ONNX Runtime session (the native addon or the
// WebAssembly build) and runs the tiles posted to it. Both runtimes compute on the calling thread,
// so sessions live here, off the event loop that downloads, decodes, encodes and uploads; the
// layout changes and the output head (tensor-io) run here too.
import { parentPort, workerData } from 'node:worker_threads';
import type * as ortTypes from 'onnxruntime-common';
import { toInputLayout, toPixelValues } from '../tensor-io.js';
import type { RunReply, RunRequest, ThreadInit } from './session-messages.js';

type Ort = typeof import('onnxruntime-node');

const init = workerData as ThreadInit;
const port = parentPort!;

try {
  const ort = await loadRuntime(init);
  const session = await createSession(ort, init);
  port.on('message', (request: RunRequest) => {
    void run(ort, session, request).then((reply) => {
      if (reply.ok) port.postMessage(reply, [reply.values]);
      else port.postMessage(reply);
    });
  });
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, message: (err as Error).message });
}

async function loadRuntime(thread: ThreadInit): Promise<Ort> {
  if (thread.runtime === 'node') return import('onnxruntime-node');
  const ort = (await import('onnxruntime-web')) as unknown as Ort & { env: { wasm: { numThreads: number; proxy: boolean } } };
  // One thread per session here: the pool gives each core its own session (see onnxThreading).
  ort.env.wasm.numThreads = thread.intraOpThreads;
  ort.env.wasm.proxy = false;
  return ort;
}

async function createSession(ort: Ort, thread: ThreadInit): Promise<ortTypes.InferenceSession> {
  const common = { graphOptimizationLevel: 'all' as const };
  if (thread.runtime === 'web') {
    return ort.InferenceSession.create(new Uint8Array(thread.onnx!), {
      ...common,
      executionProviders: ['wasm'],
      ...(thread.externalData.length > 0 ? { externalData: thread.externalData.map((f) => ({ path: f.path, data: new Uint8Array(f.data) })) } : {}),
    } as ortTypes.InferenceSession.SessionOptions);
  }
  const options: ortTypes.InferenceSession.SessionOptions = {
    ...common,
    intraOpNumThreads: thread.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Idle intra-op threads spin by default, burning the cores the event loop needs for
    // download, decode, encode and upload between tiles.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  return thread.onnx ? ort.InferenceSession.create(new Uint8Array(thread.onnx), options) : ort.InferenceSession.create(thread.modelPath!, options);
}

async function run(ort: Ort, session: ortTypes.InferenceSession, request: RunRequest): Promise<RunReply> {
  try {
    const { count, height, width, bands } = request;
    const { io } = init;
    const tiles = toInputLayout(new Float32Array(request.tiles), count, height, width, bands, io.inputLayout);
    const dims = io.inputLayout === 'NCHW' ? [bands, height, width] : [height, width, bands];
    // A graph whose batch axis is fixed at 1 takes the tiles one by one.
    const perRun = io.batchOne ? 1 : count;
    const perTile = height * width * bands;
    const parts: Float32Array[] = [];
    for (let first = 0; first < count; first += perRun) {
      const n = Math.min(perRun, count - first);
      const input = new ort.Tensor('float32', perRun === count ? tiles : tiles.subarray(first * perTile, (first + n) * perTile), [n, ...dims]);
      const outputs = await session.run({ [io.inputName]: input });
      const output = outputs[io.outputName]!;
      parts.push(toPixelValues(output.data as Float32Array, output.dims, io, n, height, width));
    }
    // Copy out of ORT's buffers into one we can transfer without a second copy on the other side.
    const values = parts.length === 1 ? parts[0]!.slice() : concat(parts);
    return { id: request.id, ok: true, values: values.buffer as ArrayBuffer };
  } catch (err) {
    return { id: request.id, ok: false, message: (err as Error).message };
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
