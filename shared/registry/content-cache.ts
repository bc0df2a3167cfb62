// The local content-addressed cache, laid out as DVC's own (<dir>/files/md5/xx/rest): every object is
// md5-checked before it enters, and written via temp + rename so concurrent readers and processes are safe.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudsegError } from '../errors.js';
import { objectKey, writeFileAtomic } from './object-remotes.js';

export interface ContentCache {
  readonly dir: string;
  /** the path an object lives at (whether or not it is there yet) */
  pathOf(md5: string): string;
  has(md5: string): Promise<boolean>;
  get(md5: string): Promise<Buffer | null>;
  /** checks the bytes against `md5` (ignoring a ".dir" suffix; DVC 2's hashing when `legacy`), then stores them; `what` names the file in errors */
  put(md5: string, data: Buffer, what: string, legacy?: boolean): Promise<string>;
}

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

// dvc-data's istextblock: the first 512 bytes hold no NUL and at most 30 % bytes outside printable
// ASCII and \n \r \t \f \b (an empty file is text).
function isTextBlock(block: Buffer): boolean {
  if (block.length === 0) return true;
  let nontext = 0;
  for (const b of block) {
    if (b === 0) return false;
    if (!((b >= 32 && b < 127) || b === 10 || b === 13 || b === 9 || b === 12 || b === 8)) nontext++;
  }
  return nontext / block.length <= 0.3;
}

/**
 * The md5 DVC 2 recorded for a file ("md5-dos2unix" in dvc-data): a text file (by its first 512 bytes)
 * was hashed with every CRLF turned into LF; a binary file as it is.
 */
export function legacyMd5(data: Buffer): string {
  if (!isTextBlock(data.subarray(0, 512))) return md5Hex(data);
  return md5Hex(Buffer.from(data.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'));
}

/**
 * A mismatch is always this error: never a silently used model. `legacy` outputs (DVC 2) are checked
 * the way DVC 2 hashed them; the bytes kept are the ones the remote holds, as DVC 2 kept them.
 */
export function verifyMd5(data: Buffer, md5: string, what: string, legacy = false): void {
  const expected = md5.replace(/\.dir$/, '');
  const actual = md5Hex(data);
  if (actual !== expected && !(legacy && legacyMd5(data) === expected)) {
    throw new CloudsegError('MODEL_CHECKSUM_MISMATCH', `${what}: md5 is ${actual}, expected ${expected}`, { details: { file: what, expected, actual } });
  }
}

export function openContentCache(dir: string): ContentCache {
  const pathOf = (md5: string) => join(dir, ...objectKey(md5, false).split('/'));
  return {
    dir,
    pathOf,
    has: (md5) => stat(pathOf(md5)).then((s) => s.isFile(), () => false),
    async get(md5) {
      try {
        return await readFile(pathOf(md5));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async put(md5, data, what, legacy = false) {
      verifyMd5(data, md5, what, legacy);
      const path = pathOf(md5);
      await writeFileAtomic(path, data);
      return path;
    },
  };
}
