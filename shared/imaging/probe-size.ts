// Reads an image's width and height from the first bytes of its file (PNG IHDR, TIFF/BigTIFF first
// IFD), pure: given the byte windows read so far, it answers the size or which bytes it needs next.
// Flush uses it to plan batches by work (pixels) without downloading whole objects.

/** Bytes of a file starting at `start` (a ranged read). */
export interface ByteWindow {
  start: number;
  bytes: Uint8Array;
}

export type SizeProbe =
  | { kind: 'size'; format: 'png' | 'tiff' | 'bigtiff'; width: number; height: number }
  /** Read `length` bytes at `start` (within the object) and ask again with them added. */
  | { kind: 'need'; start: number; length: number }
  /** Not a PNG or TIFF, or a header that contradicts itself: the worker reports it, flush estimates. */
  | { kind: 'unknown'; reason: string };

/** Enough for the PNG IHDR and a TIFF header, and a GDAL/COG first IFD with its usual ~20 entries. */
export const FIRST_READ_BYTES = 4096;
/** A later read takes at least this much, so an IFD beyond the first bytes costs one read, not two. */
export const NEXT_READ_BYTES = 1024;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const TAG_IMAGE_WIDTH = 256;
const TAG_IMAGE_LENGTH = 257;
const TYPE_SHORT = 3;
const TYPE_LONG = 4;
const TYPE_LONG8 = 16;
// A real IFD has a few dozen entries; a count beyond this is a corrupt header, not a reason to read more.
const MAX_IFD_ENTRIES = 4096;

class Missing {
  constructor(
    readonly start: number,
    readonly length: number,
  ) {}
}

/**
 * The image size from `windows`, or the next read it needs. Call it first with the object's first
 * FIRST_READ_BYTES, then with every window it asked for added; `objectSize` bounds what may be asked.
 */
export function probeImageSize(windows: readonly ByteWindow[], objectSize: number): SizeProbe {
  const bytesAt = (start: number, length: number): DataView => {
    if (start < 0 || start + length > objectSize) throw new RangeError(`bytes ${start}+${length} lie beyond the object (${objectSize} bytes)`);
    for (const w of windows) {
      if (start >= w.start && start + length <= w.start + w.bytes.length) {
        return new DataView(w.bytes.buffer, w.bytes.byteOffset + (start - w.start), length);
      }
    }
    throw new Missing(start, length);
  };
  try {
    return probe(bytesAt);
  } catch (err) {
    if (err instanceof Missing) return { kind: 'need', start: err.start, length: Math.min(Math.max(err.length, NEXT_READ_BYTES), objectSize - err.start) };
    if (err instanceof RangeError) return { kind: 'unknown', reason: err.message };
    throw err;
  }
}

function probe(bytesAt: (start: number, length: number) => DataView): SizeProbe {
  const head = bytesAt(0, 4);
  const b0 = head.getUint8(0);
  if (b0 === PNG_SIGNATURE[0]) return probePng(bytesAt);
  const order = String.fromCharCode(b0, head.getUint8(1));
  if (order !== 'II' && order !== 'MM') return { kind: 'unknown', reason: 'neither a PNG nor a TIFF signature' };
  return probeTiff(bytesAt, order === 'II');
}

function probePng(bytesAt: (start: number, length: number) => DataView): SizeProbe {
  const header = bytesAt(0, 24);
  for (let i = 0; i < PNG_SIGNATURE.length; i++) {
    if (header.getUint8(i) !== PNG_SIGNATURE[i]) return { kind: 'unknown', reason: 'not a PNG signature' };
  }
  // The first chunk must be IHDR (PNG spec 5.6): length 13, type "IHDR", then width, height.
  const type = String.fromCharCode(header.getUint8(12), header.getUint8(13), header.getUint8(14), header.getUint8(15));
  if (type !== 'IHDR') return { kind: 'unknown', reason: `PNG whose first chunk is ${JSON.stringify(type)}, not IHDR` };
  return sized('png', header.getUint32(16), header.getUint32(20));
}

function probeTiff(bytesAt: (start: number, length: number) => DataView, le: boolean): SizeProbe {
  const magic = bytesAt(2, 2).getUint16(0, le);
  if (magic !== 42 && magic !== 43) return { kind: 'unknown', reason: `TIFF byte order mark with magic ${magic}, not 42 or 43` };
  const big = magic === 43;
  const ifdOffset = big ? Number(bytesAt(8, 8).getBigUint64(0, le)) : bytesAt(4, 4).getUint32(0, le);
  if (ifdOffset < (big ? 16 : 8)) return { kind: 'unknown', reason: `first IFD offset ${ifdOffset} points into the header` };
  const count = big ? Number(bytesAt(ifdOffset, 8).getBigUint64(0, le)) : bytesAt(ifdOffset, 2).getUint16(0, le);
  if (count === 0 || count > MAX_IFD_ENTRIES) return { kind: 'unknown', reason: `first IFD claims ${count} entries` };
  const entrySize = big ? 20 : 12;
  const first = ifdOffset + (big ? 8 : 2);
  // The whole IFD at once: one more ranged read when it lies beyond what was read, never one per entry.
  const ifd = bytesAt(first, count * entrySize);
  let width: number | undefined;
  let height: number | undefined;
  for (let i = 0; i < count; i++) {
    const at = i * entrySize;
    const tag = ifd.getUint16(at, le);
    if (tag !== TAG_IMAGE_WIDTH && tag !== TAG_IMAGE_LENGTH) continue;
    const type = ifd.getUint16(at + 2, le);
    const valueAt = at + (big ? 12 : 8);
    let value: number;
    // A count-1 SHORT or LONG sits left-justified in the value field, in either byte order.
    if (type === TYPE_SHORT) value = ifd.getUint16(valueAt, le);
    else if (type === TYPE_LONG) value = ifd.getUint32(valueAt, le);
    else if (type === TYPE_LONG8 && big) value = Number(ifd.getBigUint64(valueAt, le));
    else return { kind: 'unknown', reason: `tag ${tag} has type ${type}, not SHORT or LONG` };
    if (tag === TAG_IMAGE_WIDTH) width = value;
    else height = value;
  }
  if (width === undefined || height === undefined) return { kind: 'unknown', reason: 'first IFD lacks ImageWidth or ImageLength' };
  return sized(big ? 'bigtiff' : 'tiff', width, height);
}

function sized(format: 'png' | 'tiff' | 'bigtiff', width: number, height: number): SizeProbe {
  if (width < 1 || height < 1) return { kind: 'unknown', reason: `${format} header claims ${width} x ${height}` };
  return { kind: 'size', format, width, height };
}
