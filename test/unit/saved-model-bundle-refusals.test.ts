// What the checkpoint reader refuses, on bundles written here byte by byte in TensorFlow's format
// (a LevelDB table of BundleEntryProtos): big-endian bundles, partitioned (sliced) variables and
// snappy-compressed blocks each fail with a message that says so; the same bundle without the
// offending feature reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { CloudsegError } from '../../shared/errors.js';
import { readVariablesBundle } from '../../shared/model/formats/saved-model/bundle.js';
import { maskCrc32c } from '../../shared/model/formats/saved-model/table.js';

const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return [...b];
};

// One block: entries without prefix sharing, a single restart point, then type byte and masked crc.
function block(entries: [string, number[]][], compression = 0): { body: number[]; trailer: number[] } {
  const body: number[] = [];
  for (const [key, value] of entries) body.push(...varint(0), ...varint(key.length), ...varint(value.length), ...Buffer.from(key, 'latin1'), ...value);
  body.push(...u32(0), ...u32(1));
  const crc = maskCrc32c(crc32c(Buffer.from([...body, compression])));
  return { body, trailer: [compression, ...u32(crc)] };
}

function table(entries: [string, number[]][], compression = 0): Buffer {
  const bytes: number[] = [];
  const data = block(entries, compression);
  const dataHandle = [...varint(0), ...varint(data.body.length)];
  bytes.push(...data.body, ...data.trailer);
  const meta = block([]);
  const metaHandle = [...varint(bytes.length), ...varint(meta.body.length)];
  bytes.push(...meta.body, ...meta.trailer);
  const index = block([[entries.at(-1)![0], dataHandle]]);
  const indexHandle = [...varint(bytes.length), ...varint(index.body.length)];
  bytes.push(...index.body, ...index.trailer);
  const footer = [...metaHandle, ...indexHandle];
  while (footer.length < 40) footer.push(0);
  bytes.push(...footer, 0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb);
  return Buffer.from(bytes);
}

const VALUE = Buffer.alloc(4);
VALUE.writeFloatLE(2.5);
// BundleHeaderProto {num_shards: 1, endianness}; BundleEntryProto {dtype: DT_FLOAT, size: 4, crc32c, slices?}
const header = (bigEndian: boolean) => [0x08, 0x01, ...(bigEndian ? [0x10, 0x01] : [])];
const entry = (sliced: boolean) => [0x08, 0x01, 0x28, 0x04, 0x35, ...u32(maskCrc32c(crc32c(VALUE))), ...(sliced ? [0x3a, 0x00] : [])];

async function bundleDir(index: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-bundle-'));
  await writeFile(join(dir, 'variables.index'), index);
  await writeFile(join(dir, 'variables.data-00000-of-00001'), VALUE);
  return dir;
}

async function withBundle(index: Buffer, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await bundleDir(index);
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const KEY = 'w/.ATTRIBUTES/VARIABLE_VALUE';

test('a well-formed little-endian bundle reads back its tensor', async () => {
  await withBundle(table([['', header(false)], [KEY, entry(false)]]), async (dir) => {
    const t = (await readVariablesBundle(dir)).tensor(KEY);
    assert.equal(t.dtype, 'DT_FLOAT');
    assert.deepEqual(t.shape, []);
    assert.equal(Buffer.from(t.bytes).readFloatLE(0), 2.5);
  });
});

test('a big-endian bundle is refused', async () => {
  await withBundle(table([['', header(true)], [KEY, entry(false)]]), async (dir) => {
    await assert.rejects(readVariablesBundle(dir), (err: unknown) => err instanceof CloudsegError && err.code === 'MODEL_LOAD_FAILED' && /big-endian/.test(err.message));
  });
});

test('a partitioned (sliced) variable is refused naming it', async () => {
  await withBundle(table([['', header(false)], [KEY, entry(true)]]), async (dir) => {
    const bundle = await readVariablesBundle(dir);
    assert.throws(() => bundle.tensor(KEY), (err: unknown) => err instanceof CloudsegError && err.code === 'MODEL_LOAD_FAILED' && err.message.includes(KEY) && /partitioned or sliced/.test(err.message));
  });
});

test('a snappy-compressed block is refused', async () => {
  await withBundle(table([['', header(false)], [KEY, entry(false)]], 1), async (dir) => {
    await assert.rejects(readVariablesBundle(dir), (err: unknown) => err instanceof CloudsegError && err.code === 'MODEL_LOAD_FAILED' && /snappy/.test(err.message));
  });
});
