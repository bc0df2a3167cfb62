// Byte ranges of one stored image, in the shape geotiff.js reads (`fetch(slices)`, like its
// `BaseSource`): the object is never fetched whole, only the header, directories and blocks asked for.
import { open } from 'node:fs/promises';

/** Reads bytes [start, end) of one immutable object; `end` never passes its size. */
export type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

interface Slice {
  offset: number;
  length: number;
}

// Errors of the underlying store (a 404 of the pinned generation, a 503) must reach the worker as
// they are, so it can tell superseded / retryable from a bad image; decoders wrap everything else.
const readErrors = new WeakSet<object>();

/** Whether `err` was thrown by a RangeSource's store rather than by decoding. */
export function isSourceReadError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && readErrors.has(err);
}

/** A sized, immutable byte source that counts what it reads (requests and bytes). */
export class RangeSource {
  bytesRead = 0;
  requests = 0;
  largestRequestBytes = 0;

  constructor(
    readonly size: number,
    private readonly readRange: ReadRange,
  ) {}

  /** Bytes [start, end) clamped to the object; an empty array past its end. */
  async read(start: number, end: number): Promise<Uint8Array> {
    const to = Math.min(end, this.size);
    if (start >= to) return new Uint8Array(0);
    let bytes: Uint8Array;
    try {
      bytes = await this.readRange(start, to);
    } catch (err) {
      if (typeof err === 'object' && err !== null) readErrors.add(err);
      throw err;
    }
    this.requests++;
    this.bytesRead += bytes.byteLength;
    this.largestRequestBytes = Math.max(this.largestRequestBytes, bytes.byteLength);
    return bytes;
  }

  // geotiff.js's BaseSource contract: one ArrayBuffer per slice, shorter at the end of the file.
  async fetch(slices: Slice[]): Promise<ArrayBuffer[]> {
    return Promise.all(
      slices.map(async ({ offset, length }) => {
        const bytes = await this.read(offset, offset + length);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      }),
    );
  }

  get fileSize(): number {
    return this.size;
  }

  async close(): Promise<void> {}
}

/** Bytes already in memory (a PNG, a test, a download that happened anyway). */
export function bytesRangeSource(bytes: Uint8Array): RangeSource {
  return new RangeSource(bytes.byteLength, (start, end) => Promise.resolve(bytes.subarray(start, end)));
}

/** A local file read with positioned reads; the handle stays open until `close()`. */
export async function fileRangeSource(path: string): Promise<RangeSource> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  const source = new RangeSource(size, async (start, end) => {
    const out = new Uint8Array(end - start);
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await handle.read(out, done, out.length - done, start + done);
      if (bytesRead === 0) throw new Error(`${path} ended at byte ${start + done}, expected ${size} bytes`);
      done += bytesRead;
    }
    return out;
  });
  source.close = () => handle.close();
  return source;
}
