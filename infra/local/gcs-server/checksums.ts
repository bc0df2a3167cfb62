// The two hashes GCS keeps per object, computed incrementally while bytes stream to disk:
// md5 and crc32c, both base64 (crc32c big-endian: native when available, else the storage client's).
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { CRC32C } from '@google-cloud/storage';
import { nativeCrc32cGenerator } from '../../../shared/cloud/crc32c.js';

export interface ObjectHashes {
  md5Hash: string;
  crc32c: string;
}

export class ObjectHasher {
  readonly #md5: Hash = createHash('md5');
  readonly #crc32c = nativeCrc32cGenerator?.() ?? new CRC32C();
  size = 0;

  update(chunk: Buffer): void {
    this.#md5.update(chunk);
    this.#crc32c.update(chunk);
    this.size += chunk.length;
  }

  digest(): ObjectHashes {
    return { md5Hash: this.#md5.digest('base64'), crc32c: this.#crc32c.toString() };
  }
}

export async function hashFile(path: string): Promise<ObjectHashes & { size: number }> {
  const hasher = new ObjectHasher();
  for await (const chunk of createReadStream(path)) hasher.update(chunk as Buffer);
  return { ...hasher.digest(), size: hasher.size };
}
