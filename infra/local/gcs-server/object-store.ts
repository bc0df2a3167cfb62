// Objects on disk: a bucket is the folder <rootDir>/<bucket>, an object the file at its name (or, when
// no file can be, one in the overflow store: see object-locations), and what GCS keeps beside the
// bytes (generation, hashes, metadata) a JSON sidecar in <rootDir>/.gcs-meta.
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, realpath, rename, rm, rmdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { hashFile, type ObjectHashes } from './checksums.js';
import { contentTypeForName, DEFAULT_CONTENT_TYPE } from './content-types.js';
import { forbidden, fromFsError, GcsApiError, notFound } from './errors.js';
import { nextGeneration } from './generation-clock.js';
import { KeyLock } from './key-lock.js';
import { checkBucketName, checkObjectName } from './object-names.js';
import { ObjectLocations, type ObjectLocation } from './object-locations.js';
import { checkExisting, checkWrite, type Preconditions } from './preconditions.js';

/** Identifies the bytes a sidecar describes; a file whose stamp differs was changed behind our back. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** The fields a writer may set on an object (upload metadata or a PATCH). */
export interface WritableFields {
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  metadata?: Record<string, string>;
}

export interface StoredObject extends WritableFields {
  bucket: string;
  name: string;
  generation: string;
  metageneration: string;
  size: number;
  contentType: string;
  md5Hash: string;
  crc32c: string;
  timeCreated: string;
  updated: string;
  file: FileStamp;
  /** Set on composed objects: how many non-composite objects they were built from. */
  componentCount?: number;
}

/** A completed write: the new live object and the one it replaced, if any. */
export interface Committed {
  object: StoredObject;
  replaced: StoredObject | null;
}

export interface ObjectStoreOptions {
  rootDir: string;
  /** Give files without a sidecar (copied in while nobody watched) a generation when first read. */
  adoptUnknownFiles: boolean;
}

const EDITABLE_FIELDS = ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'contentLanguage'] as const;

export class ObjectStore {
  readonly rootDir: string;
  readonly #adoptUnknownFiles: boolean;
  readonly #lock = new KeyLock();
  readonly #where: ObjectLocations;

  constructor(options: ObjectStoreOptions) {
    this.rootDir = options.rootDir;
    this.#adoptUnknownFiles = options.adoptUnknownFiles;
    this.#where = new ObjectLocations(options.rootDir);
  }

  bucketDir(bucket: string): string {
    return this.#where.bucketDir(bucket);
  }

  /** Where the store keeps bucket records and temp files; never inside a bucket folder. */
  metaDir(...parts: string[]): string {
    return this.#where.metaDir(...parts);
  }

  /** Creates the metadata tree; temp files left by a crashed server (one server per rootDir) go. */
  async init(): Promise<void> {
    await rm(this.metaDir('tmp'), { recursive: true, force: true });
    await mkdir(this.metaDir('tmp'), { recursive: true });
    await mkdir(this.metaDir('objects'), { recursive: true });
  }

  async hasBucket(bucket: string): Promise<boolean> {
    try {
      return (await stat(this.bucketDir(bucket))).isDirectory();
    } catch {
      return false;
    }
  }

  async requireBucket(bucket: string): Promise<void> {
    if (!(await this.hasBucket(bucket))) throw notFound(`The specified bucket does not exist: ${bucket}`);
  }

  /** A fresh temp file path on the same file system, so a finished upload lands with one rename. */
  tempPath(): string {
    return this.metaDir('tmp', `${randomUUID()}.part`);
  }

  /** The live object; 404 when missing. Files without a sidecar are adopted when that is allowed. */
  async get(bucket: string, name: string): Promise<StoredObject> {
    checkObjectName(name);
    const found = await this.#readLive(bucket, name);
    if (found) return found;
    if (this.#adoptUnknownFiles) {
      const adopted = await this.adopt(bucket, name);
      if (adopted) return adopted.object;
      const again = await this.#readLive(bucket, name);
      if (again) return again;
    }
    throw notFound(`No such object: ${bucket}/${name}`);
  }

  /**
   * The live object and an open handle on its bytes, taken together under the object's lock so a
   * concurrent overwrite cannot pair new metadata with old bytes; `check` runs preconditions.
   */
  async openForRead(bucket: string, name: string, check: (object: StoredObject) => void): Promise<{ object: StoredObject; handle: FileHandle }> {
    await this.get(bucket, name);
    return this.#lock.run(key(bucket, name), async () => {
      const live = await this.#findLive(bucket, name);
      if (!live) throw notFound(`No such object: ${bucket}/${name}`);
      const { object, at } = live;
      check(object);
      try {
        return { object, handle: await open(await this.#contained(bucket, name, at), 'r') };
      } catch (err) {
        throw fromFsError(err, `${bucket}/${name}`);
      }
    });
  }

  /** Moves a finished temp file into place as the new live generation, if the preconditions hold. */
  async commitUpload(input: {
    bucket: string;
    name: string;
    tempPath: string;
    hashes: ObjectHashes;
    size: number;
    fields: WritableFields;
    preconditions: Preconditions;
    componentCount?: number;
  }): Promise<Committed> {
    const { bucket, name } = input;
    checkObjectName(name);
    try {
      await this.requireBucket(bucket);
      return await this.#lock.run(key(bucket, name), async () => {
        const live = await this.#findLive(bucket, name);
        const replaced = live?.object ?? null;
        checkWrite(replaced, input.preconditions);
        const at = await this.#placeUpload(bucket, name, input.tempPath, live?.at);
        if (at.kind === 'plain') await this.#dropStaleSidecars(bucket, at);
        const dataPath = at.dataPath;
        const now = new Date().toISOString();
        const object: StoredObject = {
          ...pickWritable(input.fields),
          bucket,
          name,
          generation: nextGeneration(),
          metageneration: '1',
          size: input.size,
          contentType: input.fields.contentType || DEFAULT_CONTENT_TYPE,
          md5Hash: input.hashes.md5Hash,
          crc32c: input.hashes.crc32c,
          timeCreated: now,
          updated: now,
          file: await stampOf(dataPath),
        };
        if (input.componentCount !== undefined) object.componentCount = input.componentCount;
        await this.#writeSidecar(object, at);
        return { object, replaced };
      });
    } finally {
      await unlink(input.tempPath).catch(() => undefined);
    }
  }

  /** Metadata update: editable fields replace, custom metadata merges (null deletes a key). */
  async patch(bucket: string, name: string, preconditions: Preconditions, patch: PatchBody): Promise<StoredObject> {
    await this.get(bucket, name);
    return this.#lock.run(key(bucket, name), async () => {
      const found = await this.#findLive(bucket, name);
      if (!found) throw notFound(`No such object: ${bucket}/${name}`);
      const live = found.object;
      checkExisting(live, preconditions, `${bucket}/${name}`);
      const next: StoredObject = { ...live };
      for (const field of EDITABLE_FIELDS) {
        if (!(field in patch)) continue;
        const value = patch[field];
        if (value === null || value === undefined || value === '') {
          if (field === 'contentType') next.contentType = DEFAULT_CONTENT_TYPE;
          else delete next[field];
        } else next[field] = String(value);
      }
      if (patch.metadata === null) delete next.metadata;
      else if (patch.metadata !== undefined) {
        const merged: Record<string, string> = { ...(live.metadata ?? {}) };
        for (const [k, v] of Object.entries(patch.metadata)) {
          if (v === null) delete merged[k];
          else merged[k] = String(v);
        }
        if (Object.keys(merged).length > 0) next.metadata = merged;
        else delete next.metadata;
      }
      next.metageneration = (BigInt(live.metageneration) + 1n).toString();
      next.updated = new Date().toISOString();
      await this.#writeSidecar(next, found.at);
      return next;
    });
  }

  async delete(bucket: string, name: string, preconditions: Preconditions): Promise<StoredObject> {
    await this.get(bucket, name);
    return this.#lock.run(key(bucket, name), async () => {
      const found = await this.#findLive(bucket, name);
      if (!found) throw notFound(`No such object: ${bucket}/${name}`);
      const { object: live, at } = found;
      checkExisting(live, preconditions, `${bucket}/${name}`);
      await unlink(await this.#contained(bucket, name, at)).catch(ignoreMissing);
      await unlink(at.sidecarPath).catch(ignoreMissing);
      if (at.kind === 'plain') {
        await pruneEmptyDirs(dirname(at.dataPath), this.bucketDir(bucket));
        await pruneEmptyDirs(dirname(at.sidecarPath), this.metaDir('objects', bucket));
      }
      return live;
    });
  }

  /**
   * Gives a file that is not (or no longer) what its sidecar describes a new generation: hashes it,
   * takes the content type from its extension. Null when the sidecar already matches the file or
   * the file changed while being hashed (a copy still in progress).
   */
  async adopt(bucket: string, name: string): Promise<Committed | null> {
    const at = this.#where.plain(bucket, name);
    if (!at) return null; // only a file at the object's name can have been copied in
    return this.#lock.run(key(bucket, name), async () => {
      const dataPath = await this.#contained(bucket, name, at);
      let before: FileStamp;
      try {
        before = await stampOf(dataPath);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (isMissing(err) || code === 'EISDIR' || code === 'ENOTDIR') return null; // no such file
        throw fromFsError(err, `${bucket}/${name}`);
      }
      const previous = await this.#readSidecar(at);
      if (previous && sameStamp(previous.file, before)) return null;
      const hashes = await hashFile(dataPath);
      const after = await stampOf(dataPath).catch(() => null);
      if (!after || !sameStamp(before, after) || hashes.size !== after.size) return null;
      const now = new Date().toISOString();
      const object: StoredObject = {
        bucket,
        name,
        generation: nextGeneration(),
        metageneration: '1',
        size: after.size,
        contentType: contentTypeForName(name),
        md5Hash: hashes.md5Hash,
        crc32c: hashes.crc32c,
        timeCreated: now,
        updated: now,
        file: after,
      };
      await this.#writeSidecar(object, at);
      return { object, replaced: previous };
    });
  }

  /** Whether the sidecar of this object describes exactly the file with this stamp. */
  async isKnown(bucket: string, name: string, stamp: FileStamp): Promise<boolean> {
    const at = this.#where.plain(bucket, name);
    const sidecar = at && (await this.#readSidecar(at));
    return sidecar !== null && sameStamp(sidecar.file, stamp);
  }

  /** Every object name in the bucket, sorted as GCS lists them (by code unit). */
  async listNames(bucket: string): Promise<string[]> {
    const names = new Set(await this.listFileNames(bucket));
    for (const entry of await readdir(this.#where.overflowDir(bucket)).catch(() => [] as string[])) {
      if (!entry.endsWith('.json')) continue;
      const sidecar = await readFile(join(this.#where.overflowDir(bucket), entry), 'utf8').then(
        (text) => JSON.parse(text) as StoredObject,
        () => null, // deleted meanwhile
      );
      if (sidecar) names.add(sidecar.name);
    }
    return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The names of the files in the bucket folder (what a person may have copied in), sorted. */
  async listFileNames(bucket: string): Promise<string[]> {
    await this.requireBucket(bucket);
    const names: string[] = [];
    await walkFiles(this.bucketDir(bucket), '', names);
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Names of the bucket folders (any folder in rootDir whose name is a valid bucket name). */
  async listBuckets(): Promise<string[]> {
    const entries = await readdir(this.rootDir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && isBucketName(e.name))
      .map((e) => e.name)
      .sort();
  }

  /** The sidecar when the object has one and its file is still there; null otherwise. */
  async #readLive(bucket: string, name: string): Promise<StoredObject | null> {
    return (await this.#findLive(bucket, name))?.object ?? null;
  }

  /**
   * The live object and where it is: the file at its name first (a person may have replaced an
   * overflow object by copying a file there), then the overflow store.
   */
  async #findLive(bucket: string, name: string): Promise<{ object: StoredObject; at: ObjectLocation } | null> {
    checkObjectName(name);
    const plain = this.#where.plain(bucket, name);
    for (const at of plain ? [plain, this.#where.overflow(bucket, name)] : [this.#where.overflow(bucket, name)]) {
      const sidecar = await this.#readSidecar(at);
      if (!sidecar || sidecar.name !== name) continue;
      try {
        if ((await stat(await this.#contained(bucket, name, at))).isFile()) return { object: sidecar, at };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (isMissing(err) || code === 'ENOTDIR') continue; // deleted by a person: the object is gone
        throw err instanceof GcsApiError ? err : fromFsError(err, `${bucket}/${name}`);
      }
    }
    return null;
  }

  /**
   * Moves a finished upload to where the object lives (an overwrite stays where it is), or for a
   * new object to the file at its name, falling back to the overflow store when that path is taken
   * by a folder or runs through a file (GCS has no folders: `a` and `a/b` are two fine names).
   */
  async #placeUpload(bucket: string, name: string, tempPath: string, current: ObjectLocation | undefined): Promise<ObjectLocation> {
    const plain = this.#where.plain(bucket, name);
    const at = current ?? plain ?? this.#where.overflow(bucket, name);
    try {
      await this.#moveIntoPlace(tempPath, await this.#contained(bucket, name, at));
      return at;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const clash = code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENAMETOOLONG';
      if (at.kind !== 'plain' || !clash) throw err instanceof GcsApiError ? err : fromFsError(err, `${bucket}/${name}`);
    }
    const overflow = this.#where.overflow(bucket, name);
    try {
      await this.#moveIntoPlace(tempPath, overflow.dataPath);
    } catch (err) {
      throw fromFsError(err, `${bucket}/${name}`);
    }
    return overflow;
  }

  /**
   * A file deleted by hand leaves its sidecar; as a file in the sidecar tree it would block the
   * folder a new object beneath that name needs (`a` gone, `a/b` uploaded). Sidecars on the way
   * whose object file is gone are dropped; a live one cannot be there (the upload went to overflow).
   */
  async #dropStaleSidecars(bucket: string, at: ObjectLocation): Promise<void> {
    const root = this.metaDir('objects', bucket);
    let current = root;
    for (const segment of relative(root, dirname(at.sidecarPath)).split(sep)) {
      if (segment === '') return;
      current = join(current, segment);
      const entry = await lstat(current).catch(() => null);
      if (!entry) return;
      if (entry.isDirectory()) continue;
      const dataPath = join(this.bucketDir(bucket), relative(root, current));
      const live = await stat(dataPath).then((s) => s.isFile(), () => false);
      if (live) return;
      await unlink(current).catch(ignoreMissing);
      return;
    }
  }

  async #readSidecar(at: ObjectLocation): Promise<StoredObject | null> {
    try {
      return JSON.parse(await readFile(at.sidecarPath, 'utf8')) as StoredObject;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (isMissing(err) || code === 'ENOTDIR' || code === 'EISDIR') return null;
      throw fromFsError(err, `${at.sidecarPath} (metadata)`);
    }
  }

  async #writeSidecar(object: StoredObject, at: ObjectLocation): Promise<void> {
    const temp = this.tempPath();
    await writeFile(temp, JSON.stringify(object, null, 2));
    try {
      await this.#moveIntoPlace(temp, at.sidecarPath);
    } catch (err) {
      throw fromFsError(err, `${object.bucket}/${object.name} (metadata)`);
    }
  }

  // A delete elsewhere in the bucket may prune the folder between mkdir and rename: try again.
  async #moveIntoPlace(from: string, to: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dirname(to), { recursive: true });
        await rename(from, to);
        return;
      } catch (err) {
        if (isMissing(err) && attempt < 3) continue;
        throw err;
      }
    }
  }

  /**
   * The location's data path, once it is certain that a file in the bucket folder stays inside it
   * after symlinks are resolved: a link inside a bucket folder to a folder (or file) elsewhere must
   * not let a read or an upload reach outside the data folder. The deepest part of the path that
   * exists is what the file system would follow; everything below it gets created as real folders.
   */
  async #contained(bucket: string, name: string, at: ObjectLocation): Promise<string> {
    if (at.kind === 'overflow') return at.dataPath; // the server's own tree, named by a hash
    const bucketDir = this.bucketDir(bucket);
    const bucketReal = await realpath(bucketDir).catch(() => null);
    if (bucketReal === null) throw notFound(`The specified bucket does not exist: ${bucket}`);
    let existing = at.dataPath;
    let lookedAgain = 0;
    while (existing.length >= bucketDir.length) {
      let real: string;
      try {
        real = await realpath(existing);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fromFsError(err, `${bucket}/${name}`);
        const entry = code === 'ENOENT' ? await lstat(existing).catch(() => null) : null;
        if (entry === null) {
          existing = dirname(existing);
          continue;
        }
        // There but unresolvable: a dangling symlink, which a write or mkdir would follow.
        if (entry.isSymbolicLink()) throw forbidden(`${bucket}/${name} goes through a dangling symlink; the local server refuses it`);
        // Created by a concurrent upload since realpath looked: resolve it again (a few times).
        if (++lookedAgain > 3) existing = dirname(existing);
        continue;
      }
      if (real !== bucketReal && !real.startsWith(bucketReal + sep)) {
        throw forbidden(`${bucket}/${name} resolves (through a symlink) to ${real}, outside the bucket folder; the local server refuses it`);
      }
      return at.dataPath;
    }
    return at.dataPath;
  }
}

export interface PatchBody {
  contentType?: string | null;
  cacheControl?: string | null;
  contentDisposition?: string | null;
  contentEncoding?: string | null;
  contentLanguage?: string | null;
  metadata?: Record<string, string | null> | null;
}

export async function stampOf(path: string): Promise<FileStamp> {
  const s = await stat(path);
  if (!s.isFile()) throw Object.assign(new Error(`${path} is not a file`), { code: 'EISDIR' });
  return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

export function isBucketName(name: string): boolean {
  try {
    checkBucketName(name);
    return true;
  } catch {
    return false;
  }
}

function pickWritable(fields: WritableFields): WritableFields {
  const out: WritableFields = {};
  for (const field of EDITABLE_FIELDS) {
    const value = fields[field];
    if (typeof value === 'string' && value !== '') out[field] = value;
  }
  if (fields.metadata && Object.keys(fields.metadata).length > 0) out.metadata = { ...fields.metadata };
  return out;
}

async function walkFiles(dir: string, prefix: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for (const entry of entries) {
    const name = prefix + entry.name;
    if (entry.isDirectory()) await walkFiles(join(dir, entry.name), `${name}/`, out);
    else if (entry.isFile()) out.push(name);
  }
}

async function pruneEmptyDirs(dir: string, stopAt: string): Promise<void> {
  let current = dir;
  while (current.length > stopAt.length && current.startsWith(stopAt + sep)) {
    try {
      await rmdir(current);
    } catch {
      return; // not empty (or already gone): the folder still holds other objects
    }
    current = dirname(current);
  }
}

function key(bucket: string, name: string): string {
  return `${bucket}/${name}`;
}

function isMissing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT';
}

function ignoreMissing(err: unknown): void {
  if (!isMissing(err)) throw err;
}
