// What the JPEG 2000 decode threads and their pool say to each other: one single-tile codestream
// in (its buffer transferred), its samples or the typed error out.
import type { ErrorCode } from '../../errors.js';
import type { TileDecodeRequest } from './openjpeg-codec.js';

/** A tile to decode; `codestream` is transferred to the thread. */
export interface DecodeJob extends Omit<TileDecodeRequest, 'codestream'> {
  id: number;
  codestream: ArrayBuffer;
}

/** The samples (a transferred buffer, in the request's sample type) or the codec's typed error. */
export type DecodeReply =
  | { id: number; ok: true; samples: ArrayBuffer }
  | { id: number; ok: false; code: ErrorCode; message: string; retryable: boolean; details: Record<string, unknown> | undefined };

/** Posted once the thread has its codec (or could not load it). */
export type DecodeThreadReady = { ready: true } | { ready: false; message: string };
