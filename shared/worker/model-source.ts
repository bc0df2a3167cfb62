// Where the worker gets its model: a fixed directory, or a registry reference that is re-resolved
// at most every refresh interval and hot-swapped when its md5 changes (Beam's model refresh).
// Work holds a lease on the model it started with; a replaced model is disposed when its last
// lease is released, so in-flight items finish on the model they began with.
import type { ModelIdentity } from '../contracts/result-event.js';
import type { Logger } from '../logging.js';
import type { SegmentationModel } from '../model/types.js';

export interface ModelLease {
  model: SegmentationModel;
  release(): void;
}

export interface ModelSource {
  /** The model to use now; release the lease when the work that used it is done. */
  acquire(): Promise<ModelLease>;
  close(): Promise<void>;
}

/** A model version as a resolver sees it: an id that changes when the model does, and how to load it. */
export interface ModelVersion {
  md5: string;
  describe: Record<string, unknown>;
  load(): Promise<SegmentationModel>;
}

interface Slot {
  model: SegmentationModel;
  md5: string;
  leases: number;
  retired: boolean;
}

/** A source that loads once and never changes (a plain model directory). */
export function fixedModelSource(load: () => Promise<SegmentationModel>): ModelSource {
  return refreshingModelSource({
    resolve: async () => ({ md5: 'fixed', describe: {}, load }),
    refreshMs: Number.POSITIVE_INFINITY,
  });
}

export interface RefreshingSourceOptions {
  /** Finds the current version; cheap compared with loading (e.g. a git ref + a .dvc file). */
  resolve(): Promise<ModelVersion>;
  refreshMs: number;
  logger?: Logger;
  now?: () => number;
}

export function refreshingModelSource(options: RefreshingSourceOptions): ModelSource {
  const now = options.now ?? Date.now;
  let active: Slot | null = null;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<void> | null = null;

  const retire = (slot: Slot) => {
    slot.retired = true;
    if (slot.leases === 0) slot.model.dispose();
  };

  const refresh = async (): Promise<void> => {
    const version = await options.resolve();
    checkedAt = now();
    if (active && active.md5 === version.md5) return;
    const model = await version.load();
    const previous = active;
    active = { model, md5: version.md5, leases: 0, retired: false };
    options.logger?.info({ model: model.identity, ...version.describe, replaced: previous?.model.identity ?? null }, previous ? 'model swapped' : 'model loaded');
    if (previous) retire(previous);
  };

  const ensureFresh = async (): Promise<void> => {
    if (active && now() - checkedAt < options.refreshMs) return;
    refreshing ??= refresh().finally(() => {
      refreshing = null;
    });
    try {
      await refreshing;
    } catch (err) {
      if (!active) throw err; // nothing to serve: the caller fails and the batch is redelivered
      checkedAt = now(); // keep serving the current model; try again after the interval
      options.logger?.warn({ err, model: active.model.identity }, 'model refresh failed; keeping the current model');
    }
  };

  return {
    async acquire() {
      await ensureFresh();
      const slot = active!;
      slot.leases++;
      let released = false;
      return {
        model: slot.model,
        release() {
          if (released) return;
          released = true;
          slot.leases--;
          if (slot.retired && slot.leases === 0) slot.model.dispose();
        },
      };
    },
    async close() {
      await refreshing?.catch(() => undefined);
      if (active) retire(active);
      active = null;
    },
  };
}

/** The same model under another identity (e.g. the registry's rev, tag and DVC md5). */
export function withIdentity(model: SegmentationModel, identity: ModelIdentity): SegmentationModel {
  return {
    identity,
    card: model.card,
    backend: model.backend,
    parallelism: model.parallelism,
    outputChannels: model.outputChannels,
    predict: (tiles, count, height, width) => model.predict(tiles, count, height, width),
    dispose: () => model.dispose(),
  };
}
