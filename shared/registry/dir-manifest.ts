// DVC's directory manifest (the `.dir` object): the byte-exact JSON DVC writes for a directory and
// its md5, so a directory hashed here gets the same id as the same directory tracked by DVC.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ManifestEntry {
  md5: string;
  relpath: string;
}

/**
 * The `.dir` text: Python's `json.dumps(entries_sorted_by_relpath, sort_keys=True)` with its default
 * separators (", " and ": ") and ensure_ascii (every non-ASCII UTF-16 unit as \uXXXX, so astral
 * characters become surrogate pairs). Sorting is by code point, as Python compares str.
 */
export function dirManifestJson(entries: ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => compareCodePoints(a.relpath, b.relpath));
  const items = sorted.map((e) => `{"md5": ${pythonJsonString(e.md5)}, "relpath": ${pythonJsonString(e.relpath)}}`);
  return `[${items.join(', ')}]`;
}

/** md5 hex of the `.dir` text: DVC's directory hash without its ".dir" suffix. */
export function dirManifestMd5(entries: ManifestEntry[]): string {
  return createHash('md5').update(dirManifestJson(entries), 'utf8').digest('hex');
}

/** md5 hex of a file's bytes, streamed (DVC 3 hashes the raw bytes; no dos2unix). */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Every file under `dir` (recursively) with its md5 and posix relative path, sorted. A symlink to a
 * file counts as that file, as in DVC's walk (os.walk lists it; the hash reads through it); a symlink
 * to a folder is not descended into (os.walk's followlinks=False).
 */
export async function directoryManifest(dir: string): Promise<ManifestEntry[]> {
  const found = await readdir(dir, { recursive: true, withFileTypes: true });
  const entries: ManifestEntry[] = [];
  for (const dirent of found) {
    const full = join(dirent.parentPath, dirent.name);
    if (!dirent.isFile() && !(dirent.isSymbolicLink() && (await stat(full).then((s) => s.isFile(), () => false)))) continue;
    const relpath = full.slice(dir.replace(/[\\/]+$/, '').length + 1).split(/[\\/]/).join('/');
    entries.push({ md5: await md5File(full), relpath });
  }
  return entries.sort((a, b) => compareCodePoints(a.relpath, b.relpath));
}

/** Python's json string encoding with ensure_ascii=True. */
export function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (unit < 0x20 || unit > 0x7e) out += `\\u${unit.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return (x.done ? 0 : 1) - (y.done ? 0 : 1);
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}
