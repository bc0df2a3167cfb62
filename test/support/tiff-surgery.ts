// Hand-edited TIFFs for hostile-input tests: a valid one-strip file (from the project's writer)
// with its strip swapped (a decompression bomb) or its header lying about the image size.
import { deflateSync } from 'node:zlib';
import { writeGeoTiff } from '../../shared/imaging/geotiff-write.js';

const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 16: 8 };

function entries(view: DataView): { ifd: number; count: number; find(tag: number): number } {
  const ifd = view.getUint32(4, true);
  const count = view.getUint16(ifd, true);
  const at = (i: number) => ifd + 2 + i * 12;
  return {
    ifd,
    count,
    find: (tag) => {
      for (let i = 0; i < count; i++) if (view.getUint16(at(i), true) === tag) return at(i);
      throw new Error(`tag ${tag} not in the IFD`);
    },
  };
}

/** A small valid 64x64x4 uint16 deflate TIFF in one strip. */
export function smallTiff(): Uint8Array {
  return writeGeoTiff({ width: 64, height: 64, bands: 4, dtype: 'uint16', data: new Uint16Array(64 * 64 * 4), compression: 'deflate' });
}

/** The same file with its one strip replaced by `strip` (later offsets shifted to match). */
export function withStrip(tiff: Uint8Array, strip: Uint8Array): Uint8Array {
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const { ifd, count, find } = entries(view);
  const oldLength = view.getUint32(find(279) + 8, true);
  if (view.getUint32(find(273) + 8, true) !== 8) throw new Error('expected one strip right after the header');
  const delta = strip.length - oldLength;
  const out = new Uint8Array(tiff.length + delta);
  out.set(tiff.subarray(0, 8));
  out.set(strip, 8);
  out.set(tiff.subarray(8 + oldLength), 8 + strip.length);
  const o = new DataView(out.buffer);
  o.setUint32(4, ifd + delta, true);
  for (let i = 0; i < count; i++) {
    const at = ifd + delta + 2 + i * 12;
    const type = o.getUint16(at + 2, true);
    const n = o.getUint32(at + 4, true);
    if (o.getUint16(at, true) === 279) o.setUint32(at + 8, strip.length, true);
    else if ((TYPE_BYTES[type] ?? 1) * n > 4) o.setUint32(at + 8, o.getUint32(at + 8, true) + delta, true);
  }
  return out;
}

/** A 64x64x4 header whose one strip inflates to `bytes` of zeros. */
export function deflateBomb(bytes: number): Uint8Array {
  return withStrip(smallTiff(), deflateSync(Buffer.alloc(bytes)));
}

/** A valid small TIFF whose header claims width x height. */
export function withClaimedSize(width: number, height: number): Uint8Array {
  const out = smallTiff().slice();
  const view = new DataView(out.buffer);
  const { find } = entries(view);
  for (const [tag, value] of [[256, width], [257, height]] as const) {
    const at = find(tag);
    if (view.getUint16(at + 2, true) === 3) view.setUint16(at + 8, value, true);
    else view.setUint32(at + 8, value, true);
  }
  return out;
}
