// Where an object's bytes and sidecar live. Normally the file at its name in the bucket folder
// (so people see and drop plain files), with the sidecar at the same path under .gcs-meta/objects.
// A name no file path can hold (`dir/`, `a//b`), or one whose path is taken by a folder or a file
// (`a` beside `a/b`), goes to the overflow store: files named by the name's hash.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { checkBucketName, plainSegments } from './object-names.js';

export const META_DIR = '.gcs-meta';

export interface ObjectLocation {
  kind: 'plain' | 'overflow';
  dataPath: string;
  sidecarPath: string;
}

export class ObjectLocations {
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = rootDir;
  }

  bucketDir(bucket: string): string {
    return join(this.rootDir, checkBucketName(bucket));
  }

  metaDir(...parts: string[]): string {
    return join(this.rootDir, META_DIR, ...parts);
  }

  /** The file at the object's name, or null when its name cannot be a path. */
  plain(bucket: string, name: string): ObjectLocation | null {
    const segments = plainSegments(name);
    if (!segments) return null;
    return {
      kind: 'plain',
      dataPath: join(this.bucketDir(bucket), ...segments),
      // Mirrors the bucket folder, so sidecars clash only where the objects' files would.
      sidecarPath: join(this.metaDir('objects', checkBucketName(bucket)), ...segments),
    };
  }

  overflow(bucket: string, name: string): ObjectLocation {
    const id = createHash('sha256').update(name, 'utf8').digest('hex');
    const dir = this.overflowDir(bucket);
    return { kind: 'overflow', dataPath: join(dir, `${id}.data`), sidecarPath: join(dir, `${id}.json`) };
  }

  overflowDir(bucket: string): string {
    return this.metaDir('overflow', checkBucketName(bucket));
  }
}
