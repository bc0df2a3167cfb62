// A RangeSource over one generation-pinned Cloud Storage object: each read is a ranged download
// (HTTP Range) of exactly that generation, so a newer upload under the same name can never be mixed
// into a scene half read (the old generation answers 404 instead). Reads go through cloudseg's
// ObjectDownloader, which retries transient failures itself (the client's own retry of a media
// download crashes Node 24, see object-download.ts).
import type { ObjectRef } from '../contracts/batch.js';
import { RangeSource, type RangeSourceOptions } from '../imaging/range-source.js';
import type { ObjectDownloader } from './object-download.js';

// A request costs ~10-50 ms on GCS whatever its size up to about a MiB: small reads (directory
// entries, the 64 KiB strips of a stripped TIFF) are grouped into chunks of this size.
export const DEFAULT_READ_AHEAD_BYTES = 512 * 1024;

/**
 * `ref` names the generation and `size` is its metadata's size. Ranged reads skip the client's
 * whole-object checksum; each block is checked by its decoder.
 */
export function downloaderRangeSource(
  downloader: ObjectDownloader,
  ref: ObjectRef,
  size: number,
  options: RangeSourceOptions = { readAheadBytes: DEFAULT_READ_AHEAD_BYTES },
): RangeSource {
  return new RangeSource(
    size,
    async (start, end) => {
      // The downloader's range is inclusive (bytes=start-end).
      const bytes = await downloader.download(ref, { start, end: end - 1 });
      if (bytes.byteLength !== end - start) {
        throw new Error(`gs://${ref.bucket}/${ref.name}#${ref.generation}: asked for bytes ${start}-${end - 1}, got ${bytes.byteLength}`);
      }
      return bytes;
    },
    options,
  );
}
