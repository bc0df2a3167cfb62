// A RangeSource over one generation-pinned Cloud Storage object: each read is a ranged download
// (HTTP Range) of exactly that generation, so a newer upload under the same name can never be mixed
// into a scene half read (the old generation answers 404 instead).
import type { File } from '@google-cloud/storage';
import { RangeSource, type RangeSourceOptions } from '../imaging/range-source.js';

// A request costs ~10-50 ms on GCS whatever its size up to about a MiB: small reads (directory
// entries, the 64 KiB strips of a stripped TIFF) are grouped into chunks of this size.
export const DEFAULT_READ_AHEAD_BYTES = 512 * 1024;

/**
 * `file` must be pinned (`bucket.file(name, { generation })`) and `size` its metadata's size.
 * Ranged reads skip the client's whole-object checksum; each block is checked by its decoder.
 */
export function gcsRangeSource(file: File, size: number, options: RangeSourceOptions = { readAheadBytes: DEFAULT_READ_AHEAD_BYTES }): RangeSource {
  return new RangeSource(size, async (start, end) => {
    // The client's `end` is inclusive (bytes=start-end).
    const [bytes] = await file.download({ start, end: end - 1, validation: false });
    if (bytes.byteLength !== end - start) {
      throw new Error(`gs://${file.bucket.name}/${file.name}: asked for bytes ${start}-${end - 1}, got ${bytes.byteLength}`);
    }
    return bytes;
  }, options);
}
