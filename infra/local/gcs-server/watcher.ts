// The folder watcher: a file a person copies or moves into a bucket folder becomes an object (and
// an OBJECT_FINALIZE) once its size and mtime have held still for `stableMs`, exactly once.
//
// It polls (readdir + stat) rather than using fs.watch: recursive fs.watch on Linux is emulated in
// JavaScript in Node 20 and has missed files in freshly created sub-folders, a copy and a move give
// different event sequences, and "unchanged for 500 ms" needs a stat anyway. Files the server wrote
// itself are recognised by their sidecar, whose stamp (size, mtime, inode) matches the file.
import type { Logger } from '../../../shared/logging.js';
import { join } from 'node:path';
import { sameStamp, stampOf, type Committed, type FileStamp, type ObjectStore } from './object-store.js';

export interface FolderWatcherOptions {
  store: ObjectStore;
  /** Called (and awaited) for each adopted file, with the object it replaced if any. */
  onAdopted: (committed: Committed) => Promise<void>;
  intervalMs?: number;
  stableMs?: number;
  logger?: Logger | undefined;
}

export interface FolderWatcher {
  /** One full pass now (tests use it to avoid sleeping); passes never overlap. */
  scan(): Promise<void>;
  stop(): Promise<void>;
}

interface Pending {
  stamp: FileStamp;
  since: number;
}

export const DEFAULT_WATCH_INTERVAL_MS = 200;
export const DEFAULT_STABLE_MS = 500;

export function startFolderWatcher(options: FolderWatcherOptions): FolderWatcher {
  const { store, logger } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
  const stableMs = options.stableMs ?? DEFAULT_STABLE_MS;
  const known = new Map<string, FileStamp>(); // files whose sidecar matches, by "bucket/name"
  const pending = new Map<string, Pending>(); // changed files waiting to hold still
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function visit(bucket: string, name: string, now: number): Promise<void> {
    const key = `${bucket}/${name}`;
    let stamp: FileStamp;
    try {
      stamp = await stampOf(join(store.bucketDir(bucket), ...name.split('/')));
    } catch {
      return; // gone since the listing
    }
    const seen = known.get(key);
    if (seen && sameStamp(seen, stamp)) return;
    const waiting = pending.get(key);
    if (!waiting || !sameStamp(waiting.stamp, stamp)) {
      // Just changed: a write by the server itself is recognised at once by its sidecar.
      if (await store.isKnown(bucket, name, stamp)) {
        known.set(key, stamp);
        pending.delete(key);
      } else pending.set(key, { stamp, since: now });
      return;
    }
    if (now - waiting.since < stableMs) return;
    pending.delete(key);
    const adopted = await store.adopt(bucket, name);
    if (!adopted) {
      // Either the server wrote it meanwhile (sidecar matches) or it changed again: look next pass.
      if (await store.isKnown(bucket, name, stamp)) known.set(key, stamp);
      return;
    }
    known.set(key, adopted.object.file);
    logger?.info({ bucket, object: name, generation: adopted.object.generation, size: adopted.object.size }, 'gcs-server: file in bucket folder adopted');
    await options.onAdopted(adopted);
  }

  async function pass(): Promise<void> {
    const now = Date.now();
    const present = new Set<string>();
    for (const bucket of await store.listBuckets()) {
      for (const name of await store.listFileNames(bucket).catch(() => [] as string[])) {
        present.add(`${bucket}/${name}`);
        try {
          await visit(bucket, name, now);
        } catch (err) {
          logger?.warn({ err, bucket, object: name }, 'gcs-server: watcher could not adopt file');
        }
      }
    }
    for (const key of known.keys()) if (!present.has(key)) known.delete(key);
    for (const key of pending.keys()) if (!present.has(key)) pending.delete(key);
  }

  function scan(): Promise<void> {
    running = running.then(pass, pass);
    return running;
  }

  // A pass costs ~50 us per file (readdir + stat); waiting at least twice the last pass keeps a
  // big bucket (thousands of masks) from keeping a core busy, at the price of a slower pick-up.
  function tick(): void {
    if (stopped) return;
    const started = performance.now();
    scan()
      .catch((err: unknown) => logger?.warn({ err }, 'gcs-server: watcher pass failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, Math.max(intervalMs, 2 * (performance.now() - started)));
      });
  }
  tick();

  return {
    scan,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
