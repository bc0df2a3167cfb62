// The pure core of flush: sort pulled upload notifications into work, skips, duplicates and
// rejects, then cut the work into batches bounded by item count, bytes and expected seconds, in
// arrival order.
import type { BatchItem } from '../contracts/batch.js';
import { finalizedAtOf, objectKey } from '../contracts/batch.js';
import { isCloudsegMask } from '../contracts/mask-metadata.js';
import { parseGcsNotification } from '../contracts/pubsub-message.js';
import { describeError, type ErrorCode } from '../errors.js';
import { isSceneMemberName } from '../scenes/scene-members.js';

/** Why a well-formed notification carries no work. Skipped messages are acked: they never will. */
export const SKIP_REASONS = ['not-finalize', 'folder-placeholder', 'no-object-resource', 'cloudseg-mask', 'foreign-bucket', 'scene-member'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** One pulled message, as much of it as planning needs. */
export interface PulledMessage {
  ackId: string;
  messageId?: string | undefined;
  data: Uint8Array | string | null | undefined;
  attributes: Record<string, string> | null | undefined;
}

export interface AcceptedUpload {
  item: BatchItem;
  /** Every message that carried this object generation: the first and its duplicates. */
  ackIds: string[];
}

export interface RejectedMessage {
  ackId: string;
  messageId: string | undefined;
  error: { code: ErrorCode; message: string };
}

export interface Classification {
  /** Keyed by `objectKey` (bucket/name#generation); Map order is arrival order of the first copy. */
  accepted: Map<string, AcceptedUpload>;
  /** Messages beyond the first for an accepted key. */
  duplicates: number;
  skipped: Record<SkipReason, string[]>;
  rejected: RejectedMessage[];
}

// GCS's own default when an upload names no type; the worker decides by extension then.
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/**
 * Classifies messages in the order given (pass every pull of one flush, oldest first). With
 * `inputBuckets`, uploads to any other bucket that notifies the same topic are skipped: they are
 * not this pipeline's inputs (and their masks would land beside ours).
 */
export function classifyMessages(
  messages: readonly PulledMessage[],
  inputBuckets?: ReadonlySet<string>,
  /** Uploads known to be a band file of a scene described beside them (found by listing its folder). */
  isSceneMember?: (item: BatchItem) => boolean,
): Classification {
  const accepted = new Map<string, AcceptedUpload>();
  const skipped = Object.fromEntries(SKIP_REASONS.map((r) => [r, []])) as unknown as Record<SkipReason, string[]>;
  const rejected: RejectedMessage[] = [];
  let duplicates = 0;

  for (const message of messages) {
    let notification;
    try {
      notification = parseGcsNotification(message);
    } catch (err) {
      rejected.push({ ackId: message.ackId, messageId: message.messageId, error: describeError(err) });
      continue;
    }
    const { attributes, object } = notification;
    if (attributes.eventType !== 'OBJECT_FINALIZE') {
      skipped['not-finalize'].push(message.ackId);
      continue;
    }
    // payloadFormat NONE carries no size or content type: the notification is misconfigured.
    if (!object) {
      skipped['no-object-resource'].push(message.ackId);
      continue;
    }
    if (inputBuckets && !inputBuckets.has(object.bucket)) {
      skipped['foreign-bucket'].push(message.ackId);
      continue;
    }
    // A mask of ours (output bucket shared with the input, or copied back): never feed it back in.
    if (isCloudsegMask(object.metadata)) {
      skipped['cloudseg-mask'].push(message.ackId);
      continue;
    }
    // Every other upload is work, whatever its name or type says: the worker decides by its bytes
    // (a .tif sent as text/plain is a TIFF) and answers anything else with a `failed` event, so each
    // upload gets exactly one final event. Only the empty "folder/" objects consoles create are not uploads.
    if (object.name.endsWith('/') && Number(object.size) === 0) {
      skipped['folder-placeholder'].push(message.ackId);
      continue;
    }
    const item: BatchItem = {
      bucket: object.bucket,
      name: object.name,
      generation: object.generation,
      size: Number(object.size),
      contentType: object.contentType ?? DEFAULT_CONTENT_TYPE,
    };
    // Travels with the work so the result event can say how long the upload waited for its mask.
    const finalizedAt = finalizedAtOf(object, attributes.eventTime);
    if (finalizedAt) item.finalizedAt = finalizedAt;
    // A band file of a product (Landsat B4, Sentinel-2 B02): its scene starts when the descriptor
    // (MTL, STAC item) arrives, which gets the one result event; the band alone gets none.
    if (isSceneMemberName(object.name) || isSceneMember?.(item)) {
      skipped['scene-member'].push(message.ackId);
      continue;
    }
    const key = objectKey(item);
    const seen = accepted.get(key);
    if (seen) {
      seen.ackIds.push(message.ackId);
      duplicates += 1;
    } else {
      accepted.set(key, { item, ackIds: [message.ackId] });
    }
  }
  return { accepted, duplicates, skipped, rejected };
}

export interface BatchLimits {
  maxItems: number;
  maxBytes: number;
  /** Most expected worker seconds in one batch (see `expectedSeconds`). @default Infinity */
  maxSeconds?: number;
}

/** What planning weighs: bytes always; the worker seconds an item is expected to take, when known. */
export interface Plannable {
  size: number;
  expectedSeconds?: number;
}

/**
 * The batches of `items` that are already closed (the next item did not fit), and the items of the
 * open one. Greedy packing is prefix-stable, so releasing closed batches while more items arrive
 * gives exactly the batches planBatches would give over the whole sequence.
 */
export function closedBatches<T extends Plannable>(items: Iterable<T>, limits: BatchLimits): { closed: T[][]; open: T[] } {
  const batches = planBatches(items, limits);
  const last = batches.at(-1);
  // A last batch at the item limit is closed too: nothing more can join it.
  if (last && last.length >= limits.maxItems) return { closed: batches, open: [] };
  return { closed: batches.slice(0, -1), open: last ?? [] };
}

/**
 * Greedy, order-preserving batching: a batch closes when the next item would exceed any limit
 * (items, bytes, expected seconds). An item over maxBytes or maxSeconds on its own goes in a
 * batch alone rather than never.
 */
export function planBatches<T extends Plannable>(items: Iterable<T>, limits: BatchLimits): T[][] {
  const maxSeconds = limits.maxSeconds ?? Infinity;
  if (!(limits.maxItems >= 1) || !(limits.maxBytes >= 1) || !(maxSeconds > 0)) {
    throw new RangeError(`batch limits must be >= 1 and seconds > 0 (maxItems ${limits.maxItems}, maxBytes ${limits.maxBytes}, maxSeconds ${maxSeconds})`);
  }
  const batches: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  let currentSeconds = 0;
  for (const item of items) {
    const seconds = item.expectedSeconds ?? 0;
    const fits = current.length < limits.maxItems && currentBytes + item.size <= limits.maxBytes && currentSeconds + seconds <= maxSeconds;
    if (!fits && current.length > 0) {
      batches.push(current);
      current = [];
      currentBytes = 0;
      currentSeconds = 0;
    }
    current.push(item);
    currentBytes += item.size;
    currentSeconds += seconds;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Expected worker seconds of an image: its pixels at the engine's measured seconds per megapixel. */
export function expectedSeconds(pixels: number, secondsPerMpx: number): number {
  return (pixels / 1e6) * secondsPerMpx;
}
