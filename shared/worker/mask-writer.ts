// Writes one mask object so that it can never replace a newer result: every write is conditional
// on the generation it read, and a lost race re-reads and judges again.
import { randomUUID } from 'node:crypto';
import type { File } from '@google-cloud/storage';
import { MASK_METADATA_KEYS } from '../contracts/mask-metadata.js';
import type { ObjectRef } from '../contracts/batch.js';
import { CloudsegError, isNotFound, isPreconditionFailed } from '../errors.js';
import { judgeExistingMask, provenanceMetadata, readProvenance, type ExistingMask, type Provenance } from './provenance.js';

export type WriteOutcome =
  | { outcome: 'written'; generation: string }
  | { outcome: 'same'; generation: string }
  | { outcome: 'newer' };

const MAX_RACES = 3;

export async function readExistingMask(file: File): Promise<ExistingMask | null> {
  try {
    const [metadata] = await file.getMetadata();
    return readProvenance(String(metadata.generation), metadata.metadata as Record<string, unknown> | undefined);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export async function writeMaskIfNotNewer(
  file: File,
  bytes: Buffer,
  contentType: string,
  provenance: Provenance,
): Promise<WriteOutcome> {
  const input: ObjectRef = provenance.source;
  // Tells our own write from a twin's: a write that landed but whose answer was lost (a reset)
  // comes back as a 412 on the client's retry, and is still ours to announce.
  const writeId = randomUUID();
  for (let attempt = 0; attempt < MAX_RACES; attempt++) {
    const existing = await readExistingMask(file);
    const verdict = judgeExistingMask(existing, input, provenance.model.md5);
    if (verdict === 'newer-input') return { outcome: 'newer' };
    if (verdict === 'same-work' && existing!.writeId === writeId) return { outcome: 'written', generation: existing!.generation };
    if (verdict === 'same-work') return { outcome: 'same', generation: existing!.generation };
    try {
      await file.save(bytes, {
        resumable: false,
        contentType,
        metadata: { metadata: { ...provenanceMetadata(provenance), [MASK_METADATA_KEYS.writeId]: writeId } },
        // 0 means "must not exist": a concurrent twin's write makes ours fail instead of replace it.
        preconditionOpts: { ifGenerationMatch: existing ? existing.generation : 0 },
      });
      return { outcome: 'written', generation: String(file.metadata.generation) };
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
      // Somebody wrote between our read and our write: read again and decide again.
    }
  }
  throw new CloudsegError('STORAGE_UNAVAILABLE', `gave up writing ${file.name} after ${MAX_RACES} lost races`, {
    retryable: true,
  });
}
