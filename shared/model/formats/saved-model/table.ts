// Reads the sorted string table TensorFlow writes as a checkpoint's `variables.index` (LevelDB's
// table format): footer -> index block -> data blocks, every block checked against its masked
// crc32c. TensorFlow writes these tables uncompressed; a snappy block is refused, not guessed at.
import { crc32c } from '@node-rs/crc32';
import { CloudsegError } from '../../../errors.js';

const FOOTER_BYTES = 48;
const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;
const BLOCK_TRAILER_BYTES = 5;
const NO_COMPRESSION = 0;
const SNAPPY_COMPRESSION = 1;
const CRC_MASK_DELTA = 0xa282ead8;

/** LevelDB/TensorFlow's masked crc32c: a crc stored beside data that itself holds crcs stays distinguishable. */
export function maskCrc32c(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + CRC_MASK_DELTA) >>> 0;
}

interface BlockHandle {
  offset: number;
  size: number;
}

class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly where: string,
  ) {}

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i += 1) {
      if (this.pos >= this.bytes.length) throw invalid(this.where, 'truncated varint');
      const byte = this.bytes[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw invalid(this.where, 'varint longer than 10 bytes');
  }

  take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw invalid(this.where, 'truncated entry');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function invalid(where: string, why: string): CloudsegError {
  return new CloudsegError('MODEL_LOAD_FAILED', `${where} is not a valid TensorFlow table: ${why}`);
}

/** Every key -> value of the table, in key order (keys as latin1 strings: TensorFlow's are ASCII). */
export function readTable(bytes: Uint8Array, where: string): Map<string, Uint8Array> {
  if (bytes.length < FOOTER_BYTES) throw invalid(where, `${bytes.length} bytes is shorter than the footer`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicAt = bytes.length - 8;
  if (view.getUint32(magicAt, true) !== MAGIC_LO || view.getUint32(magicAt + 4, true) !== MAGIC_HI) {
    throw invalid(where, 'bad magic number');
  }
  const footer = new Cursor(bytes, bytes.length - FOOTER_BYTES, where);
  blockHandle(footer); // metaindex: TensorFlow writes no filter blocks, nothing to read there
  const indexHandle = blockHandle(footer);
  const entries = new Map<string, Uint8Array>();
  for (const [, handleBytes] of blockEntries(readBlock(bytes, indexHandle, where), where)) {
    const handle = blockHandle(new Cursor(handleBytes, 0, where));
    for (const [key, value] of blockEntries(readBlock(bytes, handle, where), where)) entries.set(key, value);
  }
  return entries;
}

function blockHandle(cursor: Cursor): BlockHandle {
  return { offset: cursor.varint(), size: cursor.varint() };
}

function readBlock(bytes: Uint8Array, handle: BlockHandle, where: string): Uint8Array {
  const end = handle.offset + handle.size;
  if (end + BLOCK_TRAILER_BYTES > bytes.length) throw invalid(where, `block at ${handle.offset} runs past the end`);
  const type = bytes[end]!;
  if (type === SNAPPY_COMPRESSION) {
    throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: snappy-compressed table blocks are not supported (TensorFlow writes checkpoints uncompressed)`);
  }
  if (type !== NO_COMPRESSION) throw invalid(where, `unknown block compression ${type}`);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + end + 1, 4).getUint32(0, true);
  // The block crc covers the contents and the compression byte.
  const actual = maskCrc32c(crc32c(bytes.subarray(handle.offset, end + 1)));
  if (stored !== actual) {
    throw new CloudsegError('MODEL_CHECKSUM_MISMATCH', `${where}: block at ${handle.offset} fails its crc32c (stored ${stored}, computed ${actual})`);
  }
  return bytes.subarray(handle.offset, end);
}

function* blockEntries(block: Uint8Array, where: string): Generator<[string, Uint8Array]> {
  if (block.length < 4) throw invalid(where, 'block shorter than its restart count');
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const restarts = view.getUint32(block.length - 4, true);
  const dataEnd = block.length - 4 - 4 * restarts;
  if (dataEnd < 0) throw invalid(where, `block claims ${restarts} restart points`);
  const cursor = new Cursor(block.subarray(0, dataEnd), 0, where);
  let key = Buffer.alloc(0);
  while (cursor.pos < dataEnd) {
    const shared = cursor.varint();
    const unshared = cursor.varint();
    const valueLength = cursor.varint();
    if (shared > key.length) throw invalid(where, 'key shares more bytes than the previous key has');
    // Keys are prefix-compressed against the previous key.
    key = Buffer.concat([key.subarray(0, shared), cursor.take(unshared)]);
    yield [key.toString('latin1'), cursor.take(valueLength)];
  }
}
