// The body of one inference thread: it owns one ONNX Runtime session and runs the tiles posted to
// it. onnxruntime-node's run() is synchronous on the calling thread, so sessions live here, off the
// event loop that downloads, decodes, encodes and uploads.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { RunReply, RunRequest, ThreadInit } from './session-messages.js';

const init = workerData as ThreadInit;
const port = parentPort!;

try {
  const session = await ort.InferenceSession.create(new Uint8Array(init.onnx), {
    intraOpNumThreads: init.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle intra-op threads spin by default, burning the cores the event loop needs for
    // download, decode, encode and upload between tiles.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  port.on('message', (request: RunRequest) => {
    void run(session, request).then((reply) => {
      if (reply.ok) port.postMessage(reply, [reply.probability]);
      else port.postMessage(reply);
    });
  });
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, message: (err as Error).message });
}

async function run(session: ort.InferenceSession, request: RunRequest): Promise<RunReply> {
  try {
    const input = new ort.Tensor('float32', new Float32Array(request.tiles), [request.count, request.height, request.width, request.bands]);
    const outputs = await session.run({ [init.inputName]: input });
    const data = outputs[init.outputName]!.data as Float32Array;
    // Copy out of ORT's buffer into one we can transfer without a second copy on the other side.
    const probability = data.slice().buffer;
    return { id: request.id, ok: true, probability };
  } catch (err) {
    return { id: request.id, ok: false, message: (err as Error).message };
  }
}
