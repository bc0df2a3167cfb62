// A pool of inference threads, each with its own ONNX Runtime session of the same graph. run()
// hands a batch of tiles to an idle thread (queueing when all are busy) and resolves with the
// probabilities, so the event loop stays free while the cores infer.
import { Worker } from 'node:worker_threads';
import { CloudsegError } from '../../errors.js';
import type { TensorIo } from '../tensor-io.js';
import type { OnnxRuntimeKind, ReadyMessage, RunReply, RunRequest, ThreadInit } from './session-messages.js';

export interface SessionPoolOptions {
  runtime: OnnxRuntimeKind;
  /** The graph in memory, or null when the native runtime reads it from `modelPath` (external data beside it). */
  onnx: Uint8Array | null;
  modelPath: string | null;
  externalData: { path: string; data: Uint8Array }[];
  /** Threads, one session each. */
  sessions: number;
  /** Intra-op threads per session. */
  intraOpThreads: number;
  io: TensorIo;
}

interface Job {
  request: RunRequest;
  resolve(probability: Float32Array): void;
  reject(err: unknown): void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  gone: boolean;
}

// Under tsx (development, tests) this module is a .ts file and so is its thread, which then needs
// tsx's loader: a thread does not reliably inherit it before its entry module loads, so a small
// bootstrap registers tsx in the thread first. Built, both modules are plain .js.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const THREAD_URL = new URL(`./session-thread${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

function startThread(init: ThreadInit): Worker {
  const options = { workerData: init, transferList: [...(init.onnx ? [init.onnx] : []), ...init.externalData.map((f) => f.data)] };
  if (!FROM_SOURCE) return new Worker(THREAD_URL, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(THREAD_URL.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

export class SessionPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(private readonly options: SessionPoolOptions) {}

  /** Starts every thread and waits until each has its session (or fails with the first error). */
  static async start(options: SessionPoolOptions): Promise<SessionPool> {
    const pool = new SessionPool(options);
    try {
      await Promise.all(Array.from({ length: options.sessions }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.options.sessions;
  }

  run(tiles: Float32Array, count: number, height: number, width: number, bands: number): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new CloudsegError('INTERNAL', 'the ONNX Runtime session pool is closed'));
    // The tiles are copied once into a buffer the thread takes over (the caller keeps its own).
    const buffer = tiles.slice().buffer;
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, tiles: buffer, count, height, width, bands }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const stopped = new CloudsegError('INTERNAL', 'the ONNX Runtime session pool was closed');
    for (const job of this.queue.splice(0)) job.reject(stopped);
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private spawn(): Promise<void> {
    const { runtime, onnx, modelPath, externalData, intraOpThreads, io } = this.options;
    const init: ThreadInit = {
      runtime,
      // A copy per thread (a Buffer's slice() would share, and transferring would detach, its pool).
      onnx: onnx ? new Uint8Array(onnx).buffer : null,
      modelPath,
      externalData: externalData.map((f) => ({ path: f.path, data: new Uint8Array(f.data).buffer })),
      intraOpThreads,
      io,
    };
    const worker = startThread(init);
    const slot: Slot = { worker, job: null, gone: false };
    // Referenced until its session is ready (start() awaits it), then only while it runs a job.
    worker.ref();
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: ReadyMessage | RunReply) => {
        if ('ready' in message) {
          if (message.ready) {
            ready = true;
            worker.unref();
            this.slots.push(slot);
            resolve();
            this.dispatch();
          } else {
            reject(new CloudsegError('MODEL_LOAD_FAILED', `ONNX Runtime (${this.options.runtime === 'web' ? 'WebAssembly' : 'native'}) cannot create a session: ${message.message}`));
            void worker.terminate();
          }
          return;
        }
        const job = slot.job;
        slot.job = null;
        slot.worker.unref();
        if (job) {
          if (message.ok) job.resolve(new Float32Array(message.values));
          else job.reject(new CloudsegError('INFERENCE_FAILED', `ONNX Runtime inference failed: ${message.message}`, { retryable: true }));
        }
        this.dispatch();
      });
      const lost = (why: string, cause?: unknown) => {
        // 'error' is followed by 'exit': handle the loss once.
        if (slot.gone) return;
        slot.gone = true;
        const index = this.slots.indexOf(slot);
        if (index >= 0) this.slots.splice(index, 1);
        const err = new CloudsegError('INFERENCE_FAILED', `an ONNX Runtime thread ${why}`, { retryable: true, cause });
        if (!ready) reject(err);
        slot.job?.reject(err);
        slot.job = null;
        // Keep the pool at strength: a thread that died is replaced for the work still queued.
        if (ready && !this.closed) this.spawn().catch((spawnErr: unknown) => this.failQueue(spawnErr));
      };
      worker.on('error', (err) => lost(`failed: ${err.message}`, err));
      worker.on('exit', (code) => {
        if (!this.closed) lost(`exited with code ${code}`);
      });
    });
  }

  private failQueue(err: unknown): void {
    if (this.slots.length > 0) return;
    for (const job of this.queue.splice(0)) job.reject(err);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      // A thread keeps the process alive only while it works: a model nobody disposed (a CLI that
      // is done, a failed test) must not hold the process open.
      slot.worker.ref();
      slot.worker.postMessage(job.request, [job.request.tiles]);
    }
  }
}
