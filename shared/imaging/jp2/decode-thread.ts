// The body of one JPEG 2000 decode thread: it loads the OpenJPEG codec once and decodes the
// single-tile codestreams posted to it, one at a time, off the event loop that feeds inference.
import { parentPort } from 'node:worker_threads';
import { CloudsegError } from '../../errors.js';
import type { DecodeJob, DecodeReply, DecodeThreadReady } from './decode-messages.js';
import { decodeTileCodestream, loadCodec } from './openjpeg-codec.js';

const port = parentPort!;

try {
  await loadCodec();
  port.on('message', (job: DecodeJob) => {
    void decode(job).then((reply) => port.postMessage(reply, reply.ok ? [reply.samples] : []));
  });
  port.postMessage({ ready: true } satisfies DecodeThreadReady);
} catch (err) {
  port.postMessage({ ready: false, message: err instanceof Error ? err.message : String(err) } satisfies DecodeThreadReady);
}

async function decode(job: DecodeJob): Promise<DecodeReply> {
  try {
    const samples = await decodeTileCodestream({ ...job, codestream: new Uint8Array(job.codestream) });
    return { id: job.id, ok: true, samples: samples.buffer as ArrayBuffer };
  } catch (err) {
    // decodeTileCodestream throws CloudsegErrors only; anything else is a bug, said as INTERNAL.
    const typed = err instanceof CloudsegError ? err : new CloudsegError('INTERNAL', `${job.label}: the JPEG 2000 decode thread failed: ${String(err)}`);
    return { id: job.id, ok: false, code: typed.code, message: typed.message, retryable: typed.retryable, details: typed.details };
  }
}
