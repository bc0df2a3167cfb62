// Registered models as tests read them: pulled from the default registry (this repository, its
// DVC-tracked models and committed directory remote), exactly as the worker gets them.
import { createStorage } from '../../shared/cloud/storage.js';
import { DEFAULT_MODEL_PATH, loadConfig } from '../../shared/config/index.js';
import { modelDirFromConfig } from '../../shared/worker/model-source-from-config.js';

const pulled = new Map<string, Promise<string>>();

/** The materialised directory of a model registered in this repo at HEAD (default: the shipped one). */
export function registeredModelDir(path: string = DEFAULT_MODEL_PATH): Promise<string> {
  let dir = pulled.get(path);
  if (!dir) {
    const config = loadConfig({ CLOUDSEG_MODEL_PATH: path });
    dir = modelDirFromConfig(config, { storage: createStorage(config.projectId) });
    pulled.set(path, dir);
  }
  return dir;
}

export const shippedModelDir = (): Promise<string> => registeredModelDir();
