// Reading live objects into one new temp file, hashing on the way: what compose (many sources)
// and rewrite (one source, maybe in another bucket) both do before committing the result.
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ObjectHasher } from './checksums.js';
import type { ObjectStore, StoredObject } from './object-store.js';
import { checkExisting, type Preconditions } from './preconditions.js';

export interface SourceObject {
  bucket: string;
  name: string;
  preconditions: Preconditions;
}

export interface Concatenated {
  tempPath: string;
  hasher: ObjectHasher;
  /** The sources as they were read (each checked against its preconditions). */
  sources: StoredObject[];
}

/** Copies the sources' bytes, in order, into a fresh temp file; nothing is left behind on failure. */
export async function concatenateObjects(store: ObjectStore, sources: readonly SourceObject[]): Promise<Concatenated> {
  const tempPath = store.tempPath();
  const hasher = new ObjectHasher();
  const read: StoredObject[] = [];
  try {
    for (const source of sources) {
      const what = `${source.bucket}/${source.name}`;
      await store.requireBucket(source.bucket);
      const { object, handle } = await store.openForRead(source.bucket, source.name, (live) => checkExisting(live, source.preconditions, what));
      read.push(object);
      try {
        const hashing = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            hasher.update(chunk);
            done(null, chunk);
          },
        });
        await pipeline(handle.createReadStream({ autoClose: false }), hashing, createWriteStream(tempPath, { flags: 'a' }));
      } finally {
        await handle.close().catch(() => undefined);
      }
    }
  } catch (err) {
    await unlink(tempPath).catch(() => undefined);
    throw err;
  }
  return { tempPath, hasher, sources: read };
}
