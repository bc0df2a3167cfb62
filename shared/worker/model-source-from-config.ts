// Builds the worker's model source from its configuration: a plain model directory, or a DVC
// registry reference (rev or stage) re-resolved at most every refresh interval and hot-swapped
// when its md5 changes. Outputs then carry the registry's commit, tag and md5.
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config/index.js';
import { CloudsegError, isCloudsegError } from '../errors.js';
import type { Logger } from '../logging.js';
import { loadModelFromDir, type LoadModelOptions } from '../model/load.js';
import { openRegistry, registryRef } from '../registry/index.js';
import { fixedModelSource, refreshingModelSource, withIdentity, type ModelSource } from './model-source.js';

export function modelSourceFromConfig(config: Config, logger: Logger, clients: { storage: Storage }): ModelSource {
  const { source } = config.model;
  const load = (dir: string) => loadModelFromDir(dir, modelLoadOptions(config, logger));
  if (source.kind === 'dir') return fixedModelSource(() => explained(source.dir, () => load(source.dir)));

  const registry = openRegistry({ cacheDir: source.cacheDir, storage: clients.storage, logger, ...(source.credentials ? { credentials: source.credentials } : {}) });
  const ref = registryRef(source);
  const where = `${source.repo} ${source.path ?? source.artifact} @ ${source.stage ? `stage ${source.stage}` : (source.rev ?? 'HEAD')}`;
  return refreshingModelSource({
    refreshMs: source.refreshSeconds * 1000,
    logger,
    resolve: async () => {
      const resolved = await explained(where, () => registry.resolve(ref));
      return {
        md5: resolved.md5,
        describe: { registry: where, commit: resolved.commit, tag: resolved.tag },
        load: () =>
          explained(where, async () => {
            const model = await load(await registry.pull(resolved));
            return withIdentity(model, {
              name: model.identity.name,
              version: resolved.version ?? model.identity.version,
              md5: resolved.md5,
              rev: resolved.commit,
              tag: resolved.tag,
            });
          }),
      };
    },
  });
}

// Model problems are not the batch's fault: they fail the invocation so the batch is redelivered.
async function explained<T>(where: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    if (isCloudsegError(cause)) throw cause;
    throw new CloudsegError('MODEL_LOAD_FAILED', `cannot load the model from ${where}`, { retryable: true, cause });
  }
}

/** How the configured engine loads a model directory. */
export function modelLoadOptions(config: Config, logger?: Logger): LoadModelOptions {
  const { backend, batchTiles, threads, onnxLayout } = config.model;
  return { backend, batchTiles, onnxLayout, ...(threads ? { threads } : {}), ...(logger ? { logger } : {}) };
}

/**
 * A directory holding the configured model's files: the directory itself, or the registry's
 * materialised copy (resolved and pulled into the cache). For tools that read the files directly.
 */
export async function modelDirFromConfig(config: Config, clients: { storage: Storage }, logger?: Logger): Promise<string> {
  const { source } = config.model;
  if (source.kind === 'dir') return source.dir;
  const registry = openRegistry({ cacheDir: source.cacheDir, storage: clients.storage, ...(logger ? { logger } : {}), ...(source.credentials ? { credentials: source.credentials } : {}) });
  return registry.pull(await registry.resolve(registryRef(source)));
}
