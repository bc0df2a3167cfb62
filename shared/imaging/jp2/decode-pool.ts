// The process's JPEG 2000 decode threads: a small pool, created on first use and shared by every
// reader, that decodes single-tile codestreams off the event loop and on every core.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CloudsegError } from '../../errors.js';
import type { RasterArray } from '../types.js';
import type { DecodeJob, DecodeReply, DecodeThreadReady } from './decode-messages.js';
import type { TileDecodeRequest } from './openjpeg-codec.js';

// Each thread holds a codec whose heap grows to about one tile's working set (~40 MB for a
// 1024 x 1024 tile); past a few threads a decode-bound scene gains little and the heaps add up.
export const MAX_DECODE_THREADS = 4;

/** One thread per core, at most MAX_DECODE_THREADS. */
export function defaultDecodeThreads(): number {
  return Math.min(availableParallelism(), MAX_DECODE_THREADS);
}

interface Job {
  message: DecodeJob;
  resolve(samples: RasterArray): void;
  reject(err: unknown): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  gone: boolean;
}

// Under tsx (development, tests) this module is a .ts file and so is its thread, which then needs
// tsx's loader, registered by a small bootstrap before the entry module loads (as in
// engines/onnxruntime/session-pool.ts). Built, both modules are plain .js.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const THREAD_URL = new URL(`./decode-thread${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

function startThread(): Worker {
  if (!FROM_SOURCE) return new Worker(THREAD_URL);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(THREAD_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/**
 * Decode threads started on demand, up to `threads`, each loading the codec once. A thread keeps
 * the process alive only while it starts or decodes: an idle pool (a reader nobody disposed) never
 * holds a process open.
 */
export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private threads: number) {
    if (!Number.isInteger(threads) || threads < 1) throw new CloudsegError('INTERNAL', `a JPEG 2000 decode pool needs 1 thread or more, not ${threads}`);
  }

  /** Threads the pool may run. */
  get size(): number {
    return this.threads;
  }

  /** Threads started (starting, idle or busy). */
  get started(): number {
    return this.slots.length;
  }

  /** Lets the pool run at least `threads` threads (a shared pool never shrinks under another reader). */
  grow(threads: number): void {
    this.threads = Math.max(this.threads, threads);
    this.dispatch();
  }

  /**
   * Decodes a single-tile codestream in a thread: the codestream's buffer is handed over (copied
   * first when it is a view into a larger one) and the samples come back the same way. Rejects
   * with the codec's CloudsegError (CORRUPT_IMAGE), or INTERNAL (retryable) when a thread is lost.
   */
  decode(request: TileDecodeRequest): Promise<RasterArray> {
    if (this.closed) return Promise.reject(new CloudsegError('INTERNAL', 'the JPEG 2000 decode pool is closed'));
    const { codestream, ...rest } = request;
    const whole = codestream.byteOffset === 0 && codestream.byteLength === codestream.buffer.byteLength && codestream.buffer instanceof ArrayBuffer;
    const buffer = whole ? (codestream.buffer as ArrayBuffer) : codestream.slice().buffer;
    return new Promise((resolve, reject) => {
      this.queue.push({ message: { ...rest, id: this.nextId++, codestream: buffer }, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every thread; queued and running decodes reject. */
  async close(): Promise<void> {
    this.closed = true;
    const stopped = new CloudsegError('INTERNAL', 'the JPEG 2000 decode pool was closed');
    for (const job of this.queue.splice(0)) job.reject(stopped);
    const slots = this.slots.splice(0);
    for (const slot of slots) slot.job?.reject(stopped);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.message, [job.message.codestream]);
    }
    // Work left over and every thread busy: start another while the pool may.
    const starting = this.slots.filter((s) => !s.ready).length;
    if (!this.closed && this.queue.length > starting && this.slots.length < this.threads) {
      this.spawn();
      this.dispatch();
    }
  }

  private spawn(): void {
    const worker = startThread();
    const slot: Slot = { worker, ready: false, job: null, gone: false };
    this.slots.push(slot);
    const remove = () => {
      slot.gone = true;
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
    };
    worker.on('message', (message: DecodeThreadReady | DecodeReply) => {
      if ('ready' in message) {
        if (message.ready) {
          slot.ready = true;
          worker.unref();
          this.dispatch();
          return;
        }
        remove();
        void worker.terminate();
        this.failQueue(new CloudsegError('INTERNAL', `a JPEG 2000 decode thread cannot load the OpenJPEG codec: ${message.message}`, { retryable: true }));
        return;
      }
      const job = slot.job;
      slot.job = null;
      worker.unref();
      if (job) {
        if (message.ok) job.resolve(samplesOf(message.samples, job.message.sampleType));
        else job.reject(new CloudsegError(message.code, message.message, { retryable: message.retryable, details: message.details }));
      }
      this.dispatch();
    });
    const lost = (why: string, cause?: unknown) => {
      // 'error' is followed by 'exit': handle the loss once.
      if (slot.gone || this.closed) return;
      remove();
      const job = slot.job;
      slot.job = null;
      job?.reject(new CloudsegError('INTERNAL', `${job.message.label}: a JPEG 2000 decode thread ${why} while decoding a tile`, { retryable: true, cause }));
      // A thread that never started is not replaced (the next would fail alike); one lost while
      // decoding is, for the work still queued.
      if (!slot.ready) this.failQueue(new CloudsegError('INTERNAL', `a JPEG 2000 decode thread ${why} while starting`, { retryable: true, cause }));
      else this.dispatch();
    };
    worker.on('error', (err) => lost(`failed (${err.message})`, err));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
  }

  // A thread that cannot start fails the work waiting for it, unless a started thread can take it;
  // the next decode() tries again.
  private failQueue(err: CloudsegError): void {
    if (this.slots.some((s) => s.ready)) return;
    for (const job of this.queue.splice(0)) job.reject(err);
  }
}

function samplesOf(buffer: ArrayBuffer, type: TileDecodeRequest['sampleType']): RasterArray {
  return type === 'uint8' ? new Uint8Array(buffer) : type === 'uint16' ? new Uint16Array(buffer) : new Int16Array(buffer);
}

let shared: DecodePool | null = null;

/** The process's decode pool, created on first use; grown to `threads` when it has fewer. */
export function sharedDecodePool(threads: number): DecodePool {
  if (!shared) shared = new DecodePool(threads);
  else shared.grow(threads);
  return shared;
}
