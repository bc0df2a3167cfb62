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
  /** Which conversion to reflectance was applied (landsat-l1-toa, linear, preset) and where it came from. */
  reflectanceConversion: 'cloudseg-reflectance-conversion',
  reflectanceSource: 'cloudseg-reflectance-source',
  /** The whole reflectance record of the result event, as JSON (a re-announced event repeats it). */
  reflectance: 'cloudseg-reflectance',
  /** For a scene: the result event's `scene` as JSON (kind, id, the band objects and generations read). */
  scene: 'cloudseg-scene',
  /** For a class model: the result event's `classes` as JSON (value, name, kind, fraction per class). */
  classes: 'cloudseg-classes',
  shadowFraction: 'cloudseg-shadow-fraction',
} as const;

/**
 * GDAL metadata items of the georeferenced mask (what `gdalinfo` lists): the same record inside
 * the file, so it survives a copy out of the bucket.
 */
export const MASK_GDAL_TAGS = {
  reflectanceConversion: 'CLOUDSEG_REFLECTANCE_CONVERSION',
  reflectanceSource: 'CLOUDSEG_REFLECTANCE_SOURCE',
  reflectanceScale: 'CLOUDSEG_REFLECTANCE_SCALE',
  reflectanceOffset: 'CLOUDSEG_REFLECTANCE_OFFSET',
  sunElevation: 'CLOUDSEG_SUN_ELEVATION',
  processingBaseline: 'CLOUDSEG_PROCESSING_BASELINE',
  preset: 'CLOUDSEG_REFLECTANCE_PRESET',
  sceneKind: 'CLOUDSEG_SCENE_KIND',
  sceneId: 'CLOUDSEG_SCENE_ID',
  sceneBands: 'CLOUDSEG_SCENE_BANDS',
} as const;

/** True for an object cloudseg wrote as a mask (so it is never fed back in as an input). */
export function isCloudsegMask(metadata: Record<string, string> | undefined): boolean {
  return typeof metadata?.[MASK_METADATA_KEYS.sourceGeneration] === 'string';
}
