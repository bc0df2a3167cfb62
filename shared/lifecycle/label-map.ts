// Ground-truth codes onto a class model's classes: `4:cloud,0:shadow,1-3:clear` (or the same as a
// YAML/JSON mapping) parsed, checked against the card's classes, and applied to a truth mask.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { CloudsegError } from '../errors.js';
import type { MaskLegend } from '../imaging/mask-values.js';
import { TRUTH_NODATA } from './class-metrics.js';
import type { TruthEncoding } from './mask-encodings.js';

/** The target that leaves a truth code out of the scores (unless the card has a class of that name). */
export const NODATA_TARGET = 'nodata';

// Truth masks are 8- or 16-bit.
const MAX_CODE = 65535;

export interface LabelMapEntry {
  code: number;
  /** A class name or value of the card, or NODATA_TARGET. */
  target: string;
  /** The entry as written (e.g. `1-3:clear`), for messages. */
  entry: string;
}

/** A parsed label map: one entry per truth code (ranges expanded), not yet checked against a card. */
export type LabelMapSpec = readonly LabelMapEntry[];

/** Truth code -> class value of the card, or null for "leave out". */
export type ResolvedLabelMap = ReadonlyMap<number, number | null>;

/** Parses `CODE:CLASS[,CODE:CLASS...]`, CODE a number or a range `1-3`; CONFIG_INVALID names the bad entry. */
export function parseLabelMapText(text: string, where = '--label-map'): LabelMapSpec {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw invalid(where, 'is empty (e.g. 4:cloud,0:shadow,1-3:clear)');
  const pairs = entries.map((entry): [string, string, string] => {
    const m = /^([^:]+):(.+)$/.exec(entry);
    if (!m) throw invalid(where, `entry "${entry}" is not CODE:CLASS (e.g. 4:cloud,0:shadow,1-3:clear)`);
    return [m[1]!.trim(), m[2]!.trim(), entry];
  });
  return labelMapFromPairs(pairs, where);
}

/** A mapping as YAML/JSON gives it (`{4: cloud, "1-3": clear}`), checked like the text form. */
export function labelMapFromObject(raw: unknown, where = 'label map'): LabelMapSpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(where, 'must be a mapping of truth code to class (e.g. {4: cloud, 0: shadow, 1-3: clear})');
  }
  const pairs = Object.entries(raw).map(([code, target]): [string, string, string] => {
    if (typeof target !== 'string' && typeof target !== 'number') throw invalid(where, `entry ${code}: the class must be a name or a value, got ${JSON.stringify(target)}`);
    return [code.trim(), String(target).trim(), `${code}:${target}`];
  });
  if (pairs.length === 0) throw invalid(where, 'is empty (e.g. {4: cloud, 0: shadow, 1-3: clear})');
  return labelMapFromPairs(pairs, where);
}

/** `--label-map`: a YAML/JSON file when the argument names one (or ends .yaml/.yml/.json), else the text form. */
export async function readLabelMapArgument(arg: string): Promise<LabelMapSpec> {
  if (!/\.(ya?ml|json)$/i.test(arg) && !existsSync(arg)) return parseLabelMapText(arg);
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(arg, 'utf8'));
  } catch (err) {
    throw new CloudsegError('CONFIG_INVALID', `--label-map: cannot read ${arg}: ${(err as Error).message}`, { cause: err });
  }
  return labelMapFromObject(raw, `--label-map ${arg}`);
}

function labelMapFromPairs(pairs: [code: string, target: string, entry: string][], where: string): LabelMapSpec {
  const seen = new Map<number, string>();
  const out: LabelMapEntry[] = [];
  for (const [codeText, target, entry] of pairs) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(codeText);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || to < from || to > MAX_CODE) throw invalid(where, `entry "${entry}": the truth code must be a number or a range like 1-3 within 0..${MAX_CODE}`);
    if (target === '') throw invalid(where, `entry "${entry}" names no class`);
    for (let code = from; code <= to; code++) {
      const before = seen.get(code);
      if (before !== undefined) throw invalid(where, `truth code ${code} is mapped twice ("${before}" and "${entry}")`);
      seen.set(code, entry);
      out.push({ code, target, entry });
    }
  }
  return out;
}

/**
 * The map's targets as the card's class values: a class name first, then a class value, then
 * NODATA_TARGET. CONFIG_INVALID lists the card's classes when a target is none of them.
 */
export function resolveLabelMap(spec: LabelMapSpec, legend: MaskLegend, where = '--label-map'): ResolvedLabelMap {
  const resolved = new Map<number, number | null>();
  for (const { code, target, entry } of spec) {
    const byName = legend.classes.find((c) => c.name === target);
    const byValue = /^\d+$/.test(target) ? legend.classes.find((c) => c.value === Number(target)) : undefined;
    const value = byName?.value ?? byValue?.value ?? (target === NODATA_TARGET ? null : undefined);
    if (value === undefined) {
      const names = legend.classes.map((c) => `${c.name} (${c.value})`).join(', ');
      throw invalid(where, `entry "${entry}": "${target}" is no class of the model (classes: ${names}; or ${NODATA_TARGET} to leave the code out)`);
    }
    resolved.set(code, value);
  }
  return resolved;
}

/** The map as metrics.json shows it: truth code -> class name (or nodata). */
export function describeLabelMap(map: ResolvedLabelMap, legend: MaskLegend): Record<string, string> {
  const name = (v: number | null) => (v === null ? NODATA_TARGET : (legend.classes.find((c) => c.value === v)?.name ?? String(v)));
  return Object.fromEntries([...map].sort(([a], [b]) => a - b).map(([code, v]) => [String(code), name(v)]));
}

/**
 * The truth as class values (TRUTH_NODATA where it equals `truthNodata` or maps to nodata).
 * Codes found in the data with no entry are TRUTH_INVALID naming them: guessing a class for them
 * would score the model against labels nobody gave.
 */
export function applyLabelMap(values: ArrayLike<number>, map: ResolvedLabelMap, truthNodata: number | null, where: string): { truth: Uint8Array; truthNodataPixels: number } {
  // Code -> class value; -1 leave out, -2 unmapped. Truth masks are 8/16-bit, so a table covers them.
  const table = new Int32Array(MAX_CODE + 1).fill(-2);
  for (const [code, value] of map) table[code] = value === null ? -1 : value;
  if (truthNodata !== null && Number.isInteger(truthNodata) && truthNodata >= 0 && truthNodata <= MAX_CODE) table[truthNodata] = -1;
  const truth = new Uint8Array(values.length);
  const unmapped = new Set<number>();
  let nodataPixels = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const mapped = Number.isInteger(v) && v >= 0 && v <= MAX_CODE ? table[v]! : -2;
    if (mapped >= 0) {
      truth[i] = mapped;
    } else {
      truth[i] = TRUTH_NODATA;
      if (mapped === -1) nodataPixels++;
      else unmapped.add(v);
    }
  }
  if (unmapped.size > 0) {
    const codes = [...unmapped].sort((a, b) => a - b);
    const shown = codes.slice(0, 8).join(', ') + (codes.length > 8 ? ', ...' : '');
    throw new CloudsegError('TRUTH_INVALID', `${where}: truth code${codes.length > 1 ? 's' : ''} ${shown} ha${codes.length > 1 ? 've' : 's'} no class in the label map (it maps ${[...map.keys()].sort((a, b) => a - b).join(', ')}); add e.g. ${codes[0]}:${NODATA_TARGET} or ${codes[0]}:<class>`, {
      details: { codes: codes.slice(0, 8) },
    });
  }
  return { truth, truthNodataPixels: nodataPixels };
}

/**
 * The map an encoding implies when a scene gives none, by class kind: cloud255/cloud1 map cloud and
 * clear; class4 (ukis-csmask) also shadow (onto the clear class when the card has no shadow).
 * CONFIG_INVALID when the card has no single class of a kind needed: then a label map must say.
 */
export function defaultLabelMap(encoding: TruthEncoding, legend: MaskLegend, where: string): LabelMapSpec {
  const ofKind = (kind: string, fallback?: string): string => {
    const found = legend.classes.filter((c) => c.kind === kind);
    if (found.length === 1) return found[0]!.name;
    if (found.length === 0 && fallback) return ofKind(fallback);
    throw new CloudsegError(
      'CONFIG_INVALID',
      `${where}: cannot map its ${encoding} truth onto the model's classes by kind (${found.length === 0 ? 'no' : 'more than one'} class of kind ${kind}); give --label-map or the scene's labelMap`,
    );
  };
  const entries: [number, string][] =
    encoding === 'class4'
      ? [[4, ofKind('cloud')], [0, ofKind('shadow', 'clear')], [1, ofKind('clear')], [2, ofKind('clear')], [3, ofKind('clear')]]
      : [[encoding === 'cloud255' ? 255 : 1, ofKind('cloud')], [0, ofKind('clear')]];
  return entries.map(([code, target]) => ({ code, target, entry: `${code}:${target}` }));
}

function invalid(where: string, message: string): CloudsegError {
  return new CloudsegError('CONFIG_INVALID', `${where} ${message}`);
}
