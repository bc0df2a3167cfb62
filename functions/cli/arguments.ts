// Argument parsers shared by the CLI commands.
import { InvalidArgumentError } from 'commander';

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
