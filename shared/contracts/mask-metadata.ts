// The custom metadata keys cloudseg writes on every mask. They live in the contracts because
// both ends read them: the worker (is this item done?) and flush (is this upload one of our masks?).
export const MASK_METADATA_KEYS = {
  sourceBucket: 'cloudseg-source-bucket',
  sourceName: 'cloudseg-source-name',
  sourceGeneration: 'cloudseg-source-generation',
  modelName: 'cloudseg-model-name',
  modelVersion: 'cloudseg-model-version',
  modelMd5: 'cloudseg-model-md5',
  modelRev: 'cloudseg-model-rev',
  modelTag: 'cloudseg-model-tag',
  cloudFraction: 'cloudseg-cloud-fraction',
  width: 'cloudseg-width',
  height: 'cloudseg-height',
  /** Set once the mask's `succeeded` event is out: a redelivery without it publishes `succeeded` again. */
  eventPublished: 'cloudseg-event-published',
  /** A random id per write attempt: which write of the same work this object is. */
  writeId: 'cloudseg-write-id',
} as const;

/** True for an object cloudseg wrote as a mask (so it is never fed back in as an input). */
export function isCloudsegMask(metadata: Record<string, string> | undefined): boolean {
  return typeof metadata?.[MASK_METADATA_KEYS.sourceGeneration] === 'string';
}
