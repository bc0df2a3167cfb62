// Reads a TensorFlow checkpoint bundle (`variables/variables.index` + `variables.data-*`): the
// index table maps checkpoint keys to BundleEntryProtos, each a byte range of one data shard whose
// masked crc32c is verified. Partitioned or sliced variables and big-endian bundles are refused.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { CloudsegError } from '../../errors.js';
import { maskCrc32c, readTable } from './table.js';
import { decodeBundleEntry, decodeBundleHeader, type BundleEntryMsg } from './tf-protos.js';
import { dtypeName, shapeOf, type TfDtypeName } from './dtypes.js';

/** One tensor of the checkpoint, raw little-endian bytes as TensorFlow wrote them. */
export interface BundleTensor {
  dtype: TfDtypeName;
  shape: number[];
  bytes: Uint8Array;
}

export interface VariablesBundle {
  /** The keys in the bundle (checkpoint keys and _CHECKPOINTABLE_OBJECT_GRAPH). */
  keys(): string[];
  /** The tensor under a checkpoint key, checksum verified. */
  tensor(key: string): BundleTensor;
}

const OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH';
export { OBJECT_GRAPH_KEY };

/** Reads `<prefix>.index` and every shard it names (`<prefix>.data-0000i-of-0000n`). */
export async function readVariablesBundle(variablesDir: string, prefix = 'variables'): Promise<VariablesBundle> {
  const indexPath = join(variablesDir, `${prefix}.index`);
  const index = readTable(await readRequired(indexPath), indexPath);
  const headerBytes = index.get('');
  if (!headerBytes) throw new CloudsegError('MODEL_LOAD_FAILED', `${indexPath} has no bundle header`);
  const header = decodeBundleHeader(headerBytes);
  if (header.endianness !== 0) {
    throw new CloudsegError('MODEL_LOAD_FAILED', `${indexPath}: big-endian checkpoint bundles are not supported`);
  }
  const shardCount = Math.max(1, header.num_shards);
  const shards = await Promise.all(
    Array.from({ length: shardCount }, (_, i) =>
      readRequired(join(variablesDir, `${prefix}.data-${String(i).padStart(5, '0')}-of-${String(shardCount).padStart(5, '0')}`)),
    ),
  );
  const entries = new Map<string, BundleEntryMsg>();
  for (const [key, value] of index) if (key !== '') entries.set(key, decodeBundleEntry(value));

  return {
    keys: () => [...entries.keys()],
    tensor(key) {
      const entry = entries.get(key);
      if (!entry) throw new CloudsegError('MODEL_LOAD_FAILED', `the checkpoint in ${variablesDir} has no tensor ${JSON.stringify(key)}`);
      if (entry.slices.length > 0) {
        throw new CloudsegError('MODEL_LOAD_FAILED', `${key}: partitioned or sliced variables are not supported (save the model unpartitioned)`);
      }
      const shard = shards[entry.shard_id];
      if (!shard || entry.offset + entry.size > shard.length) {
        throw new CloudsegError('MODEL_LOAD_FAILED', `${key}: byte range ${entry.offset}+${entry.size} is outside shard ${entry.shard_id}`);
      }
      const bytes = shard.subarray(entry.offset, entry.offset + entry.size);
      const actual = maskCrc32c(crc32c(bytes));
      if (actual !== entry.crc32c) {
        throw new CloudsegError('MODEL_CHECKSUM_MISMATCH', `${key} in ${variablesDir} fails its crc32c (stored ${entry.crc32c}, computed ${actual})`);
      }
      return { dtype: dtypeName(entry.dtype, key), shape: shapeOf(entry.shape), bytes };
    },
  };
}

async function readRequired(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CloudsegError(missing ? 'MODEL_NOT_FOUND' : 'MODEL_LOAD_FAILED', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
