// The worker's per-image path applied to local files (the CLI's `segment`): same decode, scaling,
// inference and encoding, masks written beside each other in a folder, one result event per image
// (a Sentinel-2 .SAFE folder is one image: its product XML is the scene's descriptor).
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { classFields, RESULT_SCHEMA_ID, type ResultEvent } from '../contracts/result-event.js';
import { CloudsegError, describeError, isRetryable } from '../errors.js';
import type { SegmentationModel } from '../model/types.js';
import { maskNames } from './output-names.js';
import { fileRangeSource } from '../imaging/range-source.js';
import { encodeMasks, type ScalingOverride } from './segment-image.js';
import { segmentSource, type SourceLimits } from './segment-source.js';
import type { Reflectance, SceneRef } from '../contracts/result-event.js';
import { describeSceneReading, sceneDescriptorKind } from '../scenes/describe-scene.js';
import { isSafeFolderName, safeDescriptorIn } from '../scenes/safe/safe-product.js';
import type { ObjectLocation } from '../scenes/types.js';
import type { MaskResult } from './segment-image.js';
import type { RangeSource } from '../imaging/range-source.js';
import { bareImageReflectance, checkDescriptorSize, openSceneBands, reflectanceTags, segmentSceneBands, type OpenedBandObject } from './segment-scene.js';

/** Result events of local files name the pseudo-bucket `file` and the absolute path. */
export const LOCAL_FILE_BUCKET = 'file';

export interface SegmentFilesOptions {
  outDir: string;
  /** What one image may take in memory, estimated from its header. */
  memoryBudgetBytes: number;
  batchTiles: number;
  geotiff: boolean;
  scalingOverride?: ScalingOverride | null;
  batchId?: string;
  /** Tiles done / total as a scene is segmented (a terminal's progress bar). */
  onProgress?: SourceLimits['onProgress'];
}

export async function segmentFile(model: SegmentationModel, path: string, options: SegmentFilesOptions): Promise<ResultEvent> {
  const started = performance.now();
  const absolute = resolve(path);
  const input = { bucket: LOCAL_FILE_BUCKET, name: absolute, generation: '0' };
  const base = {
    schema: RESULT_SCHEMA_ID,
    batchId: options.batchId ?? 'local',
    input,
    model: model.identity,
  };
  let scene: SceneRef | null = null;
  try {
    const t0 = performance.now();
    let info = await stat(absolute).catch((cause: unknown) => {
      throw new CloudsegError('INPUT_NOT_FOUND', `cannot read ${absolute}`, { cause });
    });
    if (info.isDirectory()) {
      // The folder stands for its product XML: the same scene, event and masks as naming the XML.
      input.name = await safeFolderDescriptor(absolute);
      info = await stat(input.name);
    }
    input.generation = String(Math.trunc(info.mtimeMs * 1000));
    const download = performance.now() - t0;
    const limits: SourceLimits = { memoryBudgetBytes: options.memoryBudgetBytes, batchTiles: options.batchTiles, ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
    const read = sceneDescriptorKind(input.name) ? await readLocalScene(model, input.name, input, limits) : await readLocalImage(model, input.name, options, limits);
    const { segmentation } = read;
    scene = read.scene;
    const encoded = await encodeMasks(segmentation, { geotiff: options.geotiff });
    const t1 = performance.now();
    await mkdir(options.outDir, { recursive: true });
    const names = maskNames({ bucket: null, name: localMaskName(input.name) }, '');
    const pngPath = resolve(join(options.outDir, names.png));
    await writeFile(pngPath, encoded.png);
    let georeferenced = null;
    if (encoded.geotiff) {
      const tifPath = resolve(join(options.outDir, names.geotiff));
      await writeFile(tifPath, encoded.geotiff);
      georeferenced = { name: tifPath, generation: '0' };
    }
    return {
      ...base,
      status: 'succeeded',
      output: { bucket: LOCAL_FILE_BUCKET, name: pngPath, generation: '0', georeferenced },
      width: segmentation.width,
      height: segmentation.height,
      cloudFraction: segmentation.cloudFraction,
      scene,
      reflectance: read.reflectance,
      ...classFields(segmentation.summary),
      timingsMs: {
        download,
        decode: segmentation.timingsMs.decode,
        infer: segmentation.timingsMs.infer,
        encode: encoded.encodeMs,
        upload: performance.now() - t1,
        total: performance.now() - started,
      },
      error: null,
      finishedAt: new Date().toISOString(),
    };
  } catch (err) {
    if (isRetryable(err)) throw err;
    return {
      ...base,
      status: 'failed',
      output: null,
      width: null,
      height: null,
      cloudFraction: null,
      timingsMs: { total: performance.now() - started },
      scene,
      reflectance: null,
      error: describeError(err),
      finishedAt: new Date().toISOString(),
    };
  }
}

/**
 * The descriptor of a `.SAFE` product folder (MTD_MSIL1C.xml or MTD_MSIL2A.xml at its top).
 * UNSUPPORTED_FORMAT for another folder, INPUT_NOT_FOUND for a .SAFE folder without one.
 */
async function safeFolderDescriptor(folder: string): Promise<string> {
  if (!isSafeFolderName(folder)) {
    throw new CloudsegError('UNSUPPORTED_FORMAT', `${folder} is a folder; segment takes image files, scene descriptors and Sentinel-2 .SAFE product folders`);
  }
  const descriptor = safeDescriptorIn(await readdir(folder));
  if (descriptor === null) {
    throw new CloudsegError('INPUT_NOT_FOUND', `${folder} holds neither MTD_MSIL1C.xml nor MTD_MSIL2A.xml at its top: not a whole Sentinel-2 product (copy the whole .SAFE folder)`);
  }
  return join(folder, descriptor);
}

/**
 * The name a local input's masks take: its file name, but a SAFE product XML in its .SAFE folder
 * is named after the folder (every product's XML is called MTD_MSIL1C.xml; side by side in one
 * --out folder they must not overwrite each other).
 */
export function localMaskName(path: string): string {
  const folder = dirname(path);
  return sceneDescriptorKind(path) === 'sentinel2-safe' && isSafeFolderName(folder) ? basename(folder) : basename(path);
}

type LocalRead = { segmentation: MaskResult; reflectance: Reflectance; scene: SceneRef | null };

// Read in ranges like an object in the bucket: a TIFF window by window, never whole.
async function readLocalImage(model: SegmentationModel, path: string, options: SegmentFilesOptions, limits: SourceLimits): Promise<LocalRead> {
  const source = await fileRangeSource(path);
  const segmentation = await segmentSource(model, { source, name: path, scalingOverride: options.scalingOverride ?? null }, limits).finally(() => source.close());
  const reflectance = bareImageReflectance(segmentation.scaling, segmentation.scalingSource, model.card);
  return { segmentation: { ...segmentation, tags: { ...reflectanceTags(reflectance), ...segmentation.tags } }, reflectance, scene: null };
}

// A STAC item, an MTL or a SAFE product XML on disk: its band hrefs resolve to files beside it
// (or absolute paths); a SAFE product's granule MTD_TL.xml is read from its GRANULE folder.
async function readLocalScene(model: SegmentationModel, path: string, descriptor: { bucket: string; name: string; generation: string }, limits: SourceLimits): Promise<LocalRead> {
  const info = await stat(path);
  checkDescriptorSize(path, info.size);
  const scene = await describeSceneReading(
    {
      location: { kind: 'file', path },
      bytes: await readFile(path),
      cardBands: model.card.bands,
      presets: model.card.presets,
      defaultPreset: model.card.defaultPreset.integer,
    },
    // A Landsat item's MTL beside it, a SAFE granule's MTD_TL.xml; null when absent (describeScene says what is missing).
    async (location) => {
      if (location.kind !== 'file') return null;
      const companion = await stat(location.path).catch(() => null);
      if (!companion) return null;
      checkDescriptorSize(location.path, companion.size);
      return readFile(location.path);
    },
  );
  const opened: RangeSource[] = [];
  try {
    const { sources, inputs } = await openSceneBands(path, scene, async (location) => {
      const band = await openLocalBand(path, location);
      if (band !== 'missing') opened.push(band.source);
      return band;
    });
    const segmentation = await segmentSceneBands(model, { label: path, scene, sources }, limits);
    return { segmentation, reflectance: scene.reflectance, scene: { kind: scene.kind, id: scene.id, descriptor, inputs } };
  } finally {
    await Promise.all(opened.map((s) => s.close()));
  }
}

async function openLocalBand(label: string, location: ObjectLocation): Promise<OpenedBandObject | 'missing'> {
  if (location.kind !== 'file') {
    throw new CloudsegError('SCENE_INVALID', `${label} names gs://${location.bucket}/${location.name}; on the command line bands are local files (relative hrefs or paths)`);
  }
  let info;
  try {
    info = await stat(location.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new CloudsegError('INPUT_UNREADABLE', `${label}: cannot read band file ${location.path}`, { cause: err });
  }
  const source = await fileRangeSource(location.path);
  return { source, ref: { bucket: LOCAL_FILE_BUCKET, name: location.path, generation: String(Math.trunc(info.mtimeMs * 1000)) } };
}
