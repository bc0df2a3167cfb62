// The JPEG 2000 decoder: OpenJPEG compiled to WebAssembly (@cornerstonejs/codec-openjpeg), loaded
// once per thread (decode-thread.ts, or the calling thread when decoding inline) and fed one
// single-tile codestream at a time, so its memory holds one tile, never a band.
import { createRequire } from 'node:module';
import { CloudsegError } from '../../errors.js';
import type { RasterArray } from '../types.js';

// The slice of the codec's embind API used here (the package ships no types for its wasm build).
interface J2KDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  decodeSubResolution(decompositionLevel: number, layer: number): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean };
  delete(): void;
}

interface OpenJpegModule {
  J2KDecoder: new () => J2KDecoder;
}

type OpenJpegFactory = (overrides: { print: (s: string) => void; printErr: (s: string) => void }) => Promise<OpenJpegModule>;

/**
 * Component counts the codec decodes: its wrapper interleaves one (grey) or three (colour)
 * components and fails on any other count (measured: 2 and 4 throw), so those are refused from
 * the header instead of failing on the first tile.
 */
export const DECODABLE_COMPONENTS: readonly number[] = [1, 3];

let codec: Promise<OpenJpegModule> | null = null;

/** Loads the codec into this thread, once (again after a failed load or a trapped decode). */
export function loadCodec(): Promise<OpenJpegModule> {
  if (!codec) {
    // The package is CommonJS (an Emscripten module); its wasm file sits beside it.
    const factory = createRequire(import.meta.url)('@cornerstonejs/codec-openjpeg/decodewasmjs') as OpenJpegFactory;
    // OpenJPEG prints an [INFO] line per tile to stdout; our logs are structured JSON.
    codec = factory({ print: () => {}, printErr: () => {} });
    codec.catch(() => (codec = null));
  }
  return codec;
}

export interface TileDecodeRequest {
  /** A codestream (SOC..EOC) whose image is one tile. */
  codestream: Uint8Array;
  /** Resolution levels to discard (0: full resolution). */
  reduce: number;
  /** The size the decoded (reduced) image must have, and its components. */
  width: number;
  height: number;
  components: number;
  /** 8-bit unsigned, 16-bit unsigned or 16-bit signed samples. */
  sampleType: 'uint8' | 'uint16' | 'int16';
  label: string;
}

/**
 * Decodes a single-tile codestream into pixel-interleaved samples (a copy, out of the codec's
 * memory). Throws CORRUPT_IMAGE when the codec fails or yields another number of samples.
 */
export async function decodeTileCodestream(req: TileDecodeRequest): Promise<RasterArray> {
  const module = await loadCodec();
  const decoder = new module.J2KDecoder();
  try {
    decoder.getEncodedBuffer(req.codestream.length).set(req.codestream);
    if (req.reduce > 0) decoder.decodeSubResolution(req.reduce, 0);
    else decoder.decode();
    const decoded = decoder.getDecodedBuffer();
    const bytesPerSample = req.sampleType === 'uint8' ? 1 : 2;
    const expected = req.width * req.height * req.components * bytesPerSample;
    // OpenJPEG reports a cut-short tile with warnings only; the size of what it produced tells.
    if (decoded.byteLength !== expected) {
      throw new CloudsegError('CORRUPT_IMAGE', `${req.label}: a JPEG 2000 tile decoded to ${decoded.byteLength} bytes, expected ${expected} (${req.width}x${req.height}x${req.components}); truncated or corrupt`);
    }
    const copy = decoded.slice();
    if (req.sampleType === 'uint8') return copy;
    return req.sampleType === 'uint16' ? new Uint16Array(copy.buffer) : new Int16Array(copy.buffer);
  } catch (err) {
    if (err instanceof CloudsegError) throw err;
    // A trap inside the wasm may leave its memory in any state: the next tile gets a fresh instance.
    codec = null;
    throw new CloudsegError('CORRUPT_IMAGE', `${req.label}: OpenJPEG failed on a tile: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    try {
      decoder.delete();
    } catch {
      // The instance is already gone with a trapped module; nothing left to free.
    }
  }
}
