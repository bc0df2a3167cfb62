// Argument parsers shared by the CLI commands.
import { InvalidArgumentError, Option } from 'commander';
import { INFERENCE_BACKENDS } from '../../shared/config/index.js';

export const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${v} is not a number`);
  return n;
};

/** One number, or a comma-separated list of numbers (one per band). */
export const numList = (v: string): number | number[] => {
  const parts = v.split(',').map(num);
  return parts.length === 1 ? parts[0]! : parts;
};

/** `--engine`: the inference engine, as CLOUDSEG_INFERENCE_BACKEND would choose it. */
export const engineOption = (): Option =>
  new Option('--engine <name>', 'inference engine (default: CLOUDSEG_INFERENCE_BACKEND, else auto = onnxruntime, then tfjs-node, then wasm)').choices(INFERENCE_BACKENDS);

/** The environment with the CLI's --engine applied. */
export function withEngine(env: NodeJS.ProcessEnv, engine: string | undefined): NodeJS.ProcessEnv {
  return engine ? { ...env, CLOUDSEG_INFERENCE_BACKEND: engine } : env;
}
