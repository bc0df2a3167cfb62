// The worker's per-image path applied to local files (the CLI's `segment`): same decode, scaling,
// inference and encoding, masks written beside each other in a folder, one result event per image.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RESULT_SCHEMA_ID, type ResultEvent } from '../contracts/result-event.js';
import { CloudsegError, describeError, isRetryable } from '../errors.js';
import type { SegmentationModel } from '../model/types.js';
import { maskNames } from './output-names.js';
import { fileRangeSource } from '../imaging/range-source.js';
import { encodeMasks, type ScalingOverride } from './segment-image.js';
import { segmentSource, type SourceLimits } from './segment-source.js';

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
  try {
    const t0 = performance.now();
    const info = await stat(absolute).catch((cause: unknown) => {
      throw new CloudsegError('INPUT_NOT_FOUND', `cannot read ${absolute}`, { cause });
    });
    input.generation = String(Math.trunc(info.mtimeMs * 1000));
    // Read in ranges like an object in the bucket: a TIFF window by window, never whole.
    const source = await fileRangeSource(absolute);
    const download = performance.now() - t0;
    const segmentation = await segmentSource(
      model,
      { source, name: absolute, scalingOverride: options.scalingOverride ?? null },
      { memoryBudgetBytes: options.memoryBudgetBytes, batchTiles: options.batchTiles, ...(options.onProgress ? { onProgress: options.onProgress } : {}) },
    ).finally(() => source.close());
    const encoded = await encodeMasks(segmentation, { geotiff: options.geotiff });
    const t1 = performance.now();
    await mkdir(options.outDir, { recursive: true });
    const names = maskNames({ bucket: null, name: basename(absolute) }, '');
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
      error: describeError(err),
      finishedAt: new Date().toISOString(),
    };
  }
}
