// Reads a TensorFlow checkpoint bundle (`variables/variables.index` + `variables.data-*`): the
// index table maps checkpoint keys to BundleEntryProtos, each a byte range of one data shard whose
// masked crc32c is verified. Partitioned or sliced variables and big-endian bundles are refused.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { CloudsegError } from '../../../errors.js';
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

const DT_STRING = 7;

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
      const actual = entry.dtype === DT_STRING ? stringTensorCrc(bytes, key) : maskCrc32c(crc32c(bytes));
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

/** The elements of a string tensor as TensorFlow writes it: varint64 lengths, a 4-byte masked crc of them, the bytes. */
export function stringTensorElements(bytes: Uint8Array, where: string): Uint8Array[] {
  return parseStringTensor(bytes, where).elements;
}

// TensorFlow's checksum of a string tensor extends a crc32c over each length as a little-endian
// uint32 (uint64 past 4 GiB; not its varint), then the 4 stored bytes of the length checksum, then
// the strings.
function stringTensorCrc(bytes: Uint8Array, where: string): number {
  const { lengths, lengthCrcBytes, elements } = parseStringTensor(bytes, where);
  let crc = 0;
  for (const n of lengths) {
    const le = Buffer.alloc(n > 0xffffffff ? 8 : 4);
    if (le.length === 8) le.writeBigUInt64LE(BigInt(n));
    else le.writeUInt32LE(n);
    crc = crc32c(le, crc);
  }
  crc = crc32c(lengthCrcBytes, crc);
  for (const element of elements) crc = crc32c(element, crc);
  return maskCrc32c(crc);
}

function parseStringTensor(bytes: Uint8Array, where: string): { lengths: number[]; lengthCrcBytes: Uint8Array; elements: Uint8Array[] } {
  // The element count is not stored: lengths are read until they and the bytes fill the entry.
  const lengths: number[] = [];
  let pos = 0;
  for (;;) {
    let length = 0;
    let scale = 1;
    for (;;) {
      if (pos >= bytes.length) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: truncated string tensor`);
      const byte = bytes[pos++]!;
      length += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 128;
    }
    lengths.push(length);
    const total = lengths.reduce((a, b) => a + b, 0);
    if (pos + 4 + total === bytes.length) break;
    if (pos + 4 + total > bytes.length) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: string tensor lengths exceed its entry`);
  }
  const lengthCrcBytes = Buffer.from(bytes.subarray(pos, pos + 4));
  const elements: Uint8Array[] = [];
  let at = pos + 4;
  for (const length of lengths) {
    elements.push(bytes.subarray(at, at + length));
    at += length;
  }
  return { lengths, lengthCrcBytes, elements };
}
