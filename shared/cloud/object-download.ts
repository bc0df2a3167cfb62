// Downloads one object generation (or a byte range of it), retrying transient failures here.
// @google-cloud/storage 8.4 retries a media download inside teeny-request, and on Node 24 that
// retry crashes the process with an uncaught ERR_STREAM_UNABLE_TO_PIPE when the first answer was a
// 503 or 429 (googleapis/google-cloud-node#8670, no released fix): a GCS hiccup would kill the
// worker. So downloads go through a client whose own retries are off, and this loop retries.
import { Storage } from '@google-cloud/storage';
import type { ObjectRef } from '../contracts/batch.js';
import { isRetryable } from '../errors.js';
import { nativeCrc32cGenerator } from './crc32c.js';

export interface ObjectDownloader {
  /** The bytes of exactly this generation; `range` is inclusive at both ends, as HTTP's. */
  download(ref: ObjectRef, range?: { start: number; end: number }): Promise<Buffer>;
}

export interface DownloadRetry {
  /** @default 4 */
  attempts?: number;
  /** First delay; doubled each time, with jitter. @default 250 */
  baseDelayMs?: number;
}

/** A storage client for downloads only: the client's own retry is what crashes (see above). */
export function createDownloadStorage(projectId: string): Storage {
  return new Storage({
    projectId,
    retryOptions: { autoRetry: false },
    ...(nativeCrc32cGenerator ? { crc32cGenerator: nativeCrc32cGenerator } : {}),
  });
}

export function objectDownloader(storage: Storage, retry: DownloadRetry = {}): ObjectDownloader {
  const attempts = retry.attempts ?? 4;
  const baseDelayMs = retry.baseDelayMs ?? 250;
  return {
    async download(ref, range) {
      const file = storage.bucket(ref.bucket).file(ref.name, { generation: ref.generation });
      for (let attempt = 1; ; attempt++) {
        try {
          const [bytes] = await file.download(range ? { start: range.start, end: range.end } : {});
          return bytes;
        } catch (err) {
          if (attempt >= attempts || !isRetryable(err)) throw err;
          const delay = baseDelayMs * 2 ** (attempt - 1);
          await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay));
        }
      }
    },
  };
}
