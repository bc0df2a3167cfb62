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
  /** checks the bytes against `md5` (ignoring a ".dir" suffix), then stores them; `what` names the file in errors */
  put(md5: string, data: Buffer, what: string): Promise<string>;
}

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** A mismatch is always this error: never a silently used model. */
export function verifyMd5(data: Buffer, md5: string, what: string): void {
  const expected = md5.replace(/\.dir$/, '');
  const actual = md5Hex(data);
  if (actual !== expected) {
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
    async put(md5, data, what) {
      verifyMd5(data, md5, what);
      const path = pathOf(md5);
      await writeFileAtomic(path, data);
      return path;
    },
  };
}
