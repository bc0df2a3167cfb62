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

export interface RangeSourceOptions {
  /**
   * Reads shorter than a quarter of this fetch this much from their start and keep it (a few
   * chunks), so directory entries and the strips of a stripped TIFF (often 64 KiB each) cost one
   * request per chunk, not one each: what a request's latency makes worth it on a remote store.
   * Larger reads (the tiles of a tiled TIFF) are fetched exactly, never wasting bytes. @default 0
   */
  readAheadBytes?: number;
}

// Chunks of read-ahead kept: enough for a window's rows of small blocks plus the directory.
const READ_AHEAD_CHUNKS = 8;

/** A sized, immutable byte source that counts what it reads (requests and bytes). */
export class RangeSource {
  bytesRead = 0;
  requests = 0;
  largestRequestBytes = 0;
  private readAheadBytes: number;
  private readonly chunks: { start: number; bytes: Promise<Uint8Array> }[] = [];

  constructor(
    readonly size: number,
    private readonly readRange: ReadRange,
    options: RangeSourceOptions = {},
  ) {
    this.readAheadBytes = options.readAheadBytes ?? 0;
  }

  /**
   * From now on every read fetches exactly its range: for a tiled TIFF, whose tiles are each
   * fetched once and whose neighbours in the file are not the next needed, read-ahead only wastes.
   */
  exactReads(): void {
    this.readAheadBytes = 0;
    this.chunks.length = 0;
  }

  /** Bytes [start, end) clamped to the object; an empty array past its end. */
  async read(start: number, end: number): Promise<Uint8Array> {
    const to = Math.min(end, this.size);
    if (start >= to) return new Uint8Array(0);
    if (to - start >= this.readAheadBytes / 4) return this.fetchRange(start, to);
    const chunkEnd = (c: { start: number }) => Math.min(this.size, c.start + this.readAheadBytes);
    let chunk = this.chunks.find((c) => c.start <= start && to <= chunkEnd(c));
    if (!chunk) {
      chunk = { start, bytes: this.fetchRange(start, Math.min(this.size, start + this.readAheadBytes)) };
      this.chunks.push(chunk);
      if (this.chunks.length > READ_AHEAD_CHUNKS) this.chunks.shift();
      // A failed chunk must not answer later reads.
      const failed = chunk;
      failed.bytes.catch(() => {
        const at = this.chunks.indexOf(failed);
        if (at >= 0) this.chunks.splice(at, 1);
      });
    }
    const bytes = await chunk.bytes;
    return bytes.subarray(start - chunk.start, to - chunk.start);
  }

  private async fetchRange(start: number, end: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await this.readRange(start, end);
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
