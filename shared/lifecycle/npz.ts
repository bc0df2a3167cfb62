// Reads numpy .npz archives (a zip of .npy arrays, stored or deflated) into typed arrays: enough
// of the zip central directory and the .npy header for the evaluation scenes, no dependency.
import { inflateRawSync } from 'node:zlib';
import { CloudsegError } from '../errors.js';

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Float32Array | Float64Array | Uint8Array | Uint16Array | Int16Array | Int32Array | Uint32Array;
}

export const NPY_DTYPES = ['<f4', '<f8', '|u1', '<u1', '|b1', '<u2', '<i2', '<i4', '<u4'] as const;
export type NpyDtype = (typeof NPY_DTYPES)[number];

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const ZIP64_EXTRA_ID = 0x0001;

/** All arrays of an .npz, by name without the `.npy` suffix. */
export function readNpz(bytes: Uint8Array, where = 'npz'): Map<string, NpyArray> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const arrays = new Map<string, NpyArray>();
  for (const entry of centralDirectory(buf, where)) {
    if (!entry.name.endsWith('.npy')) continue;
    const body = entryBytes(buf, entry, where);
    arrays.set(entry.name.slice(0, -'.npy'.length), readNpy(body, `${where}:${entry.name}`));
  }
  return arrays;
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function centralDirectory(buf: Buffer, where: string): ZipEntry[] {
  // The end-of-central-directory record sits in the last 22 + up to 65535 (comment) bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw invalid(where, 'no zip end-of-central-directory record (not an .npz?)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL_SIGNATURE) throw invalid(where, `central directory entry ${n} is damaged`);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    const entry: ZipEntry = {
      method: buf.readUInt16LE(p + 10),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localOffset: buf.readUInt32LE(p + 42),
      name: buf.toString('utf8', p + 46, p + 46 + nameLength),
    };
    applyZip64(entry, buf.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength));
    entries.push(entry);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

// numpy writes zip64 sizes for arrays over 4 GiB (and sometimes by default): values of 0xFFFFFFFF
// in the fixed fields are then found, in order, in the zip64 extra field.
function applyZip64(entry: ZipEntry, extra: Buffer): void {
  for (let q = 0; q + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(q);
    const length = extra.readUInt16LE(q + 2);
    if (id === ZIP64_EXTRA_ID) {
      let r = q + 4;
      const next = (): number => {
        const v = Number(extra.readBigUInt64LE(r));
        r += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localOffset === 0xffffffff) entry.localOffset = next();
    }
    q += 4 + length;
  }
}

function entryBytes(buf: Buffer, entry: ZipEntry, where: string): Buffer {
  const p = entry.localOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== LOCAL_SIGNATURE) throw invalid(where, `local header of ${entry.name} is damaged`);
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const raw = buf.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return raw;
  if (entry.method === 8) {
    const out = inflateRawSync(raw);
    if (out.length !== entry.size) throw invalid(where, `${entry.name} inflated to ${out.length} bytes, expected ${entry.size}`);
    return out;
  }
  throw invalid(where, `${entry.name} uses zip compression method ${entry.method} (only stored and deflate are read)`);
}

/** One .npy file (format versions 1-3, C order, little-endian numeric types). */
export function readNpy(bytes: Buffer, where = 'npy'): NpyArray {
  if (bytes.length < 10 || bytes[0] !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') throw invalid(where, 'not a .npy array (bad magic)');
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw invalid(where, `unreadable .npy header ${header.trim()}`);
  if (fortran === 'True') throw invalid(where, 'Fortran-ordered arrays are not supported');
  if (!(NPY_DTYPES as readonly string[]).includes(descr)) throw invalid(where, `dtype ${descr} is not supported (have: ${NPY_DTYPES.join(', ')})`);
  const dtype = descr as NpyDtype;
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  const body = Buffer.from(bytes.subarray(start)); // a copy: typed arrays need an aligned offset
  const width = dtype.endsWith('8') ? 8 : dtype.endsWith('4') ? 4 : dtype.endsWith('2') ? 2 : 1;
  if (body.length < count * width) throw invalid(where, `needs ${count * width} data bytes, has ${body.length}`);
  const ab = body.buffer.slice(body.byteOffset, body.byteOffset + count * width) as ArrayBuffer;
  const data =
    dtype === '<f4' ? new Float32Array(ab)
    : dtype === '<f8' ? new Float64Array(ab)
    : dtype === '<u2' ? new Uint16Array(ab)
    : dtype === '<i2' ? new Int16Array(ab)
    : dtype === '<i4' ? new Int32Array(ab)
    : dtype === '<u4' ? new Uint32Array(ab)
    : new Uint8Array(ab);
  return { dtype, shape, data };
}

function invalid(where: string, message: string): CloudsegError {
  return new CloudsegError('CORRUPT_IMAGE', `${where}: ${message}`);
}
