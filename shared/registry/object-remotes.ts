// DVC remotes as plain object stores: a local directory, gs:// (through @google-cloud/storage, so the
// local GCS server works too), https:// (read-only), and a directory remote committed inside the repo.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { CloudsegError, isNotFound } from '../errors.js';
import type { GitSource } from './git-source.js';

export interface ObjectRemote {
  /** a human-readable location, used in errors and in ResolvedModel.remoteUrl */
  readonly url: string;
  /** the object's bytes, or null when the remote does not have it */
  get(key: string): Promise<Buffer | null>;
  put(key: string, data: Buffer): Promise<void>;
}

/** Where DVC keeps an object: files/md5/xx/rest for DVC 3 outputs, xx/rest for DVC 2 (legacy) ones. */
export function objectKey(md5: string, legacy: boolean): string {
  const key = `${md5.slice(0, 2)}/${md5.slice(2)}`;
  return legacy ? key : `files/md5/${key}`;
}

/** Writes through a temp file and a rename, so a reader never sees half a file. */
export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export function directoryRemote(dir: string): ObjectRemote {
  return {
    url: dir,
    async get(key) {
      try {
        return await readFile(join(dir, ...key.split('/')));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    put: (key, data) => writeFileAtomic(join(dir, ...key.split('/')), data),
  };
}

export interface GcsRemoteOptions {
  storage?: Storage;
  /** DVC's gs remote options: credentialpath (a service-account key file), projectname */
  credentialpath?: string;
  projectname?: string;
}

/**
 * The client's defaults retry for up to 600 s; a registry read is retried by its caller anyway (the
 * worker's next refresh, Pub/Sub redelivery), so one attempt and one retry fail an unreachable remote
 * in about a second. A server that accepts and then says nothing is caught by GCS_STALL_MS instead:
 * the client's own timeout does not cover a download stream.
 */
export const GCS_FAIL_FAST = {
  timeout: 4_000,
  retryOptions: { maxRetries: 1, maxRetryDelay: 1, totalTimeout: 15, retryDelayMultiplier: 2 },
} as const;

/** A download that receives nothing for this long is abandoned (progress resets it: big files are fine). */
export const GCS_STALL_MS = 5_000;

/** Reads a stream to the end; fails when no byte (nor the end) arrives for `stallMs`. */
function readStalling(stream: NodeJS.ReadableStream & { destroy(err?: Error): void }, stallMs: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const err = new CloudsegError('STORAGE_UNAVAILABLE', `${what}: no data for ${stallMs} ms`, { retryable: true });
        stream.destroy(err);
        reject(err);
      }, stallMs);
    };
    arm();
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      arm();
    });
    stream.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function gcsRemote(url: string, options: GcsRemoteOptions = {}): ObjectRemote {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `not a gs:// URL: ${url}`);
  const bucketName = m[1]!;
  const prefix = m[2]!.replace(/\/+$/, '');
  const storage =
    options.storage ??
    new Storage({
      ...(options.credentialpath ? { keyFilename: options.credentialpath } : {}),
      ...(options.projectname ? { projectId: options.projectname } : {}),
      ...GCS_FAIL_FAST,
    });
  const file = (key: string) => storage.bucket(bucketName).file(prefix ? `${prefix}/${key}` : key);
  return {
    url,
    async get(key) {
      try {
        return await readStalling(file(key).createReadStream({ validation: false }), GCS_STALL_MS, `${url}/${key}`);
      } catch (err) {
        if (isNotFound(err)) return null;
        throw wrapUnavailable(err, url, key);
      }
    },
    async put(key, data) {
      try {
        await file(key).save(data, { resumable: false, contentType: 'application/octet-stream' });
      } catch (err) {
        throw wrapUnavailable(err, url, key);
      }
    },
  };
}

export function httpsRemote(url: string, headers: Record<string, string> = {}): ObjectRemote {
  const base = url.replace(/\/+$/, '');
  return {
    url,
    async get(key) {
      let res: Response;
      try {
        res = await fetch(`${base}/${key}`, { headers });
      } catch (err) {
        throw wrapUnavailable(err, url, key);
      }
      if (res.status === 404) return null;
      if (!res.ok) throw new CloudsegError('STORAGE_UNAVAILABLE', `GET ${base}/${key}: HTTP ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
      return Buffer.from(await res.arrayBuffer());
    },
    put() {
      return Promise.reject(new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `https remote ${url} is read-only here; push to a directory or gs:// remote`));
    },
  };
}

/**
 * A directory remote committed to the registry repo itself (the default registry works offline):
 * objects are git blobs at the resolved commit; a local work tree is looked at first, since objects
 * pushed but not yet committed live only there.
 */
export function inRepoRemote(source: GitSource, commit: string, repoRelDir: string): ObjectRemote {
  const onDisk = source.workTree ? directoryRemote(join(source.workTree, ...repoRelDir.split('/'))) : null;
  return {
    url: source.workTree ? join(source.workTree, ...repoRelDir.split('/')) : `${source.location}@${commit}:${repoRelDir}`,
    async get(key) {
      return (await onDisk?.get(key)) ?? (await source.readFile(commit, posix.join(repoRelDir, key)));
    },
    put(key, data) {
      if (!onDisk) return Promise.reject(new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `remote inside ${source.location} can only be pushed to from a local work tree`));
      return onDisk.put(key, data);
    },
  };
}

/**
 * Plain git content read as DVC's remote would be (dvc.api.open reads a git-tracked path from git):
 * `byMd5` maps each file's md5 to its repo path at `commit`.
 */
export function gitContentRemote(source: GitSource, commit: string, byMd5: Map<string, string>): ObjectRemote {
  return {
    url: `${source.location}@${commit} (git)`,
    async get(key) {
      const path = byMd5.get(key.replace(/^files\/md5\//, '').replace('/', ''));
      return path === undefined ? null : source.readFile(commit, path);
    },
    put() {
      return Promise.reject(new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `files committed to git at ${source.location} are not pushed to a DVC remote`));
    },
  };
}

/**
 * A remote that cannot be used, failing only when touched: resolving an output whose objects are not
 * needed (a single file) must not fail on the default remote's scheme, as DVC only opens it to read.
 */
export function unusableRemote(url: string, error: CloudsegError): ObjectRemote {
  return { url, get: () => Promise.reject(error), put: () => Promise.reject(error) };
}

function wrapUnavailable(err: unknown, url: string, key: string): CloudsegError {
  return new CloudsegError('STORAGE_UNAVAILABLE', `remote ${url}, object ${key}: ${causeChain(err)}`, { cause: err, retryable: true });
}

// fetch() says only "fetch failed"; what went wrong (getaddrinfo ENOTFOUND host) is in its cause.
function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) {
    if (!parts.some((p) => p.includes(e instanceof Error ? e.message : ''))) parts.push(e.message);
  }
  return parts.join(': ') || String(err);
}
