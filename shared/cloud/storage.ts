// Thin construction of the Cloud Storage client. It reads STORAGE_EMULATOR_HOST itself, so the
// same code talks to Google or to the local GCS server without an isLocal branch.
import { IdempotencyStrategy, Storage } from '@google-cloud/storage';
import { nativeCrc32cGenerator } from './crc32c.js';

export function createStorage(projectId: string): Storage {
  // Retries are the client's own (idempotent calls; writes carry generation preconditions,
  // which makes them idempotent too, so allow the client to retry them).
  return new Storage({
    projectId,
    retryOptions: { autoRetry: true, maxRetries: 3, idempotencyStrategy: IdempotencyStrategy.RetryConditional },
    ...(nativeCrc32cGenerator ? { crc32cGenerator: nativeCrc32cGenerator } : {}),
  });
}
