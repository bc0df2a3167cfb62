// The model card of an ONNX graph: what the graph itself says (layout, band and class counts, the
// activation its last op implies, a fixed tile size) joined with what the caller says (bands, class
// names, threshold) and the lifecycle params (presets, tiling). Pure: every refusal happens here,
// before anything is written, and the card is checked by the same parser and plan the worker uses.
import { cardError, describeValue, graphError } from '../../model/formats/onnx/graph-errors.js';
import { stringify } from 'yaml';
import { CloudsegError } from '../../errors.js';
import { parseModelCard } from '../../model/card.js';
import { planOnnxIo, type OnnxGraphDescription, type OnnxIoPlan } from '../../model/formats/onnx/index.js';
import type { GraphValue } from '../../model/formats/onnx/describe-graph.js';
import type { LifecycleParams } from '../lifecycle-params.js';
import type { CardClass, ModelCard, TensorLayout } from '../../model/types.js';
import type { SeedParams } from './seed-params.js';

export const ONNX_MODEL_FILE = 'model.onnx';

export interface OnnxCardRequest {
  name: string;
  version: string;
  /** Band names in the order of the input's band axis. */
  bands: string[];
  /** Output channels in order; absent: a one-channel cloud mask. */
  classes?: CardClass[];
  /** The seed project's params (n_classes, in_channels), checked against the graph. */
  seed?: SeedParams;
  /** Cloud probability threshold of a cloud mask card. @default params.model.threshold */
  threshold?: number;
  /** The preset integer inputs get by default. @default params.defaultPreset.integer */
  preset?: string;
  /** @default params.model.sizeMultiple (a fixed-size graph: its size) */
  sizeMultiple?: number;
  /** The input's layout, needed only when its dims do not tell. */
  layout?: TensorLayout;
  licence?: string;
  credit?: string;
  params: Pick<LifecycleParams, 'model' | 'presets' | 'defaultPreset'>;
}

export interface OnnxCard {
  card: ModelCard;
  /** The card as YAML, exactly what was parsed back. */
  yaml: string;
  /** How the worker will feed and read the graph under this card. */
  plan: OnnxIoPlan;
}

/** The card for `graph` (read from `label`); MODEL_CARD_INVALID, CONFIG_INVALID or MODEL_LOAD_FAILED naming the dims that disagree. */
export function cardFromGraph(graph: OnnxGraphDescription, request: OnnxCardRequest, label: string): OnnxCard {
  checkRequest(request);
  const input = imageInput(graph, label);
  const layout = resolveLayout(input, request.bands, request.layout);
  checkSeedInput(request.seed, request.bands, input, layout);
  const output = graph.outputs[0]!;
  const channels = outputChannels(output, layout);
  const classes = resolveClasses(request, output, channels);
  const activation = activationOf(graph.outputOps[output.name] ?? null);
  const fixed = fixedSide(input, layout);
  const { params } = request;

  const raw = {
    name: request.name,
    version: request.version,
    format: 'onnx',
    modelFile: ONNX_MODEL_FILE,
    bands: request.bands,
    presets: params.presets,
    defaultPreset: { integer: request.preset ?? params.defaultPreset.integer, float: params.defaultPreset.float },
    // A graph that takes one size only gets tiles of that size (and padding up to it).
    tile: fixed ? { size: fixed, overlap: Math.min(params.model.overlap, Math.floor(fixed / 4)) } : { size: params.model.tile, overlap: params.model.overlap },
    sizeMultiple: fixed ?? request.sizeMultiple ?? params.model.sizeMultiple,
    // Recorded even where the dims tell: the worker then reads the layout the import decided on.
    input: { layout },
    ...(classes ? { output: { activation }, classes } : { output: { activation, cloudChannel: 0 }, threshold: request.threshold ?? params.model.threshold }),
    ...(request.licence ? { licence: request.licence } : {}),
    ...(request.credit ? { credit: request.credit } : {}),
  };
  const yaml = stringify(raw, { lineWidth: 100 });
  const card = parseModelCard(yaml);
  const plan = planOnnxIo(graph, card, label);
  // The plan reads an open output axis as whatever fits; the import's reading must be the one it uses.
  if (plan.io.outputLayout !== 'NHW' && plan.io.outputLayout !== layout) {
    throw cardError('classes', `output ${describeValue(output)} would be read as ${plan.io.outputLayout} while input ${describeValue(input)} is ${layout}; export the output in the input's layout`);
  }
  return { card, yaml, plan };
}

/** Reads the activation off the op that writes the output: a Softmax or Sigmoid head is already a probability. */
export function activationOf(op: string | null): ModelCard['output']['activation'] {
  if (op === 'Softmax') return 'softmax';
  if (op === 'Sigmoid') return 'sigmoid';
  return 'linear';
}

function checkRequest(request: OnnxCardRequest): void {
  const { bands, threshold, sizeMultiple, preset, params } = request;
  if (bands.length === 0) throw new CloudsegError('CONFIG_INVALID', 'say which bands the model takes, in input order: --bands blue,green,red,nir');
  const repeated = bands.find((b, i) => bands.indexOf(b) !== i);
  if (repeated) throw new CloudsegError('CONFIG_INVALID', `--bands names ${repeated} twice (${bands.join(', ')})`);
  if (threshold !== undefined && !(threshold > 0 && threshold < 1)) {
    throw new CloudsegError('CONFIG_INVALID', `--threshold is a cloud probability in (0, 1), got ${threshold}`);
  }
  if (sizeMultiple !== undefined && !(Number.isInteger(sizeMultiple) && sizeMultiple > 0)) {
    throw new CloudsegError('CONFIG_INVALID', `--size-multiple is a positive integer, got ${sizeMultiple}`);
  }
  if (preset !== undefined && !Object.hasOwn(params.presets, preset)) {
    throw new CloudsegError('CONFIG_INVALID', `--preset ${preset} names no preset (have: ${Object.keys(params.presets).join(', ')})`);
  }
}

function imageInput(graph: OnnxGraphDescription, label: string): GraphValue & { dims: NonNullable<GraphValue['dims']> } {
  const [input] = graph.inputs;
  if (graph.inputs.length !== 1 || !input) {
    throw graphError(label, `it has ${graph.inputs.length} inputs (${graph.inputs.map(describeValue).join(', ') || 'none'}); cloudseg feeds one image`);
  }
  if (!input.dims || input.dims.length !== 4) {
    throw graphError(label, `its input ${describeValue(input)} is not of rank 4; an image model takes [n, bands, h, w] (NCHW) or [n, h, w, bands] (NHWC)`);
  }
  return input as GraphValue & { dims: NonNullable<GraphValue['dims']> };
}

const bandAxis = (layout: TensorLayout) => (layout === 'NCHW' ? 1 : 3);

// Exports fix the band axis and leave height and width open, so a fixed axis 1 or 3 says where the
// bands are; only a fully fixed or fully open input needs the band count or --layout to decide.
function resolveLayout(input: GraphValue & { dims: NonNullable<GraphValue['dims']> }, bands: string[], stated: TensorLayout | undefined): TensorLayout {
  const at = (layout: TensorLayout) => input.dims[bandAxis(layout)] ?? null;
  const fixed = (layout: TensorLayout) => typeof at(layout) === 'number';
  const mismatch = (layouts: TensorLayout[]) =>
    cardError(
      'bands',
      `--bands lists ${bands.length} band${bands.length === 1 ? '' : 's'} (${bands.join(', ')}) but input ${describeValue(input)} takes ${layouts.map((l) => `${at(l)} (axis ${bandAxis(l)}, ${l})`).join(' or ')}`,
    );
  if (stated) {
    if (fixed(stated) && at(stated) !== bands.length) throw mismatch([stated]);
    const other = stated === 'NCHW' ? 'NHWC' : 'NCHW';
    if (!fixed(stated) && fixed(other)) {
      throw cardError('input.layout', `--layout ${stated} but input ${describeValue(input)} fixes axis ${bandAxis(other)} (${at(other)}) and leaves axis ${bandAxis(stated)} open: it is ${other}`);
    }
    return stated;
  }
  const candidates = (['NCHW', 'NHWC'] as const).filter(fixed);
  if (candidates.length === 0) {
    throw new CloudsegError('CONFIG_INVALID', `input ${describeValue(input)} fixes neither axis 1 nor axis 3, so its band axis is unknown: say --layout NCHW or --layout NHWC`);
  }
  const fitting = candidates.filter((l) => at(l) === bands.length);
  if (fitting.length === 0) throw mismatch(candidates);
  if (fitting.length === 2) {
    throw new CloudsegError('CONFIG_INVALID', `input ${describeValue(input)} has ${bands.length} on both axis 1 and axis 3: say --layout NCHW or --layout NHWC`);
  }
  return fitting[0]!;
}

function checkSeedInput(seed: SeedParams | undefined, bands: string[], input: GraphValue & { dims: NonNullable<GraphValue['dims']> }, layout: TensorLayout): void {
  if (!seed || seed.inChannels === null) return;
  const graphBands = input.dims[bandAxis(layout)];
  if (typeof graphBands === 'number' && seed.inChannels !== graphBands) {
    throw new CloudsegError('CONFIG_INVALID', `${seed.where} says model.in_channels ${seed.inChannels} but input ${describeValue(input)} takes ${graphBands} (${layout}); is it the params of another model?`);
  }
  if (seed.inChannels !== bands.length) {
    throw new CloudsegError('CONFIG_INVALID', `${seed.where} says model.in_channels ${seed.inChannels} but --bands lists ${bands.length} (${bands.join(', ')})`);
  }
}

/** The output's channel count on the input's band axis (PyTorch and TF exports keep the layout); null when open. */
function outputChannels(output: GraphValue, layout: TensorLayout): number | null {
  if (output.dims?.length === 3) return 1;
  if (output.dims?.length !== 4) return null; // the plan names an output of another rank
  const dim = output.dims[bandAxis(layout)];
  return typeof dim === 'number' ? dim : null;
}

function resolveClasses(request: OnnxCardRequest, output: GraphValue, channels: number | null): CardClass[] | null {
  const { classes, seed } = request;
  const seedClasses = seed?.nClasses ?? null;
  if (seed && seedClasses !== null && channels !== null && seedClasses !== channels) {
    throw new CloudsegError('CONFIG_INVALID', `${seed.where} says model.n_classes ${seedClasses} but output ${describeValue(output)} has ${channels} channel${channels === 1 ? '' : 's'}; is it the params of another model?`);
  }
  if (classes) {
    const list = `${classes.length} class${classes.length === 1 ? '' : 'es'} (${classes.map((c) => c.name).join(', ')})`;
    if (channels !== null && channels !== classes.length) {
      throw cardError('classes', `--classes names ${list} but output ${describeValue(output)} has ${channels} channel${channels === 1 ? '' : 's'}`);
    }
    if (seed && seedClasses !== null && seedClasses !== classes.length) {
      throw new CloudsegError('CONFIG_INVALID', `--classes names ${list} but ${seed.where} says model.n_classes ${seedClasses}`);
    }
    if (classes.length < 2) {
      throw new CloudsegError('CONFIG_INVALID', `--classes names ${list}; a class model has at least two, and a one-channel model is a cloud mask (leave out --classes)`);
    }
    if (request.threshold !== undefined) {
      throw new CloudsegError('CONFIG_INVALID', '--threshold is for a one-channel cloud mask; a class model takes the most probable class');
    }
    return classes;
  }
  // Class names are never guessed: a wrong order or kind would mislabel every mask without a sound.
  const count = seedClasses ?? channels;
  if (count !== null && count > 1) {
    const why = seedClasses !== null && seed ? `${seed.where} says model.n_classes ${seedClasses}` : `output ${describeValue(output)} has ${count} channels`;
    throw new CloudsegError('CONFIG_INVALID', `${why}: name the classes in channel order with --classes name[:kind],... (e.g. --classes clear,cloud,shadow)`);
  }
  return null;
}

function fixedSide(input: GraphValue & { dims: NonNullable<GraphValue['dims']> }, layout: TensorLayout): number | null {
  const [h, w] = layout === 'NCHW' ? [input.dims[2], input.dims[3]] : [input.dims[1], input.dims[2]];
  // Any other mix (one side fixed, or unequal sides) is the plan's to refuse, by name.
  return typeof h === 'number' && h === w ? h : null;
}

