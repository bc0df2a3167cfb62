// Matches an ONNX graph's declared input and output with the model card: which tensor is the image
// and in which layout, which output is the segmentation and how it is read, whether the graph takes
// any tile size or one. Every mismatch is a typed error naming the dims found and what the card
// implies, so a wrong card or an odd export is caught at load, never as a runtime trace mid-batch.
import type { TensorIo } from '../../../engines/tensor-io.js';
import { CloudsegError } from '../../../errors.js';
import type { ModelCard, TensorLayout } from '../../types.js';
import type { GraphDim, GraphValue, OnnxGraphDescription } from './describe-graph.js';
import { cardError, describeValue, graphError } from './graph-errors.js';

export interface OnnxIoPlan {
  io: TensorIo;
  /** The graph's fixed tile side, or null when it takes any height and width. */
  fixedSize: number | null;
  /** Output channels the graph declares (null when dynamic). */
  outputChannels: number | null;
}

type PlanCard = Pick<ModelCard, 'bands' | 'classes' | 'output' | 'tile' | 'input'>;

export function planOnnxIo(graph: OnnxGraphDescription, card: PlanCard, label: string): OnnxIoPlan {
  const bands = card.bands.length;
  if (graph.inputs.length !== 1) {
    throw graphError(label, `it has ${graph.inputs.length} inputs (${graph.inputs.map(describeValue).join(', ') || 'none'}); cloudseg feeds one float32 image [n, ${bands}, h, w] or [n, h, w, ${bands}]`);
  }
  const input = graph.inputs[0]!;
  if (input.elemType !== 'float') {
    throw graphError(label, `its input ${describeValue(input)} is ${input.elemType}; cloudseg feeds float32 reflectance (export the model with a float input)`);
  }
  if (!input.dims || input.dims.length !== 4) {
    throw graphError(label, `its input ${describeValue(input)} is not of rank 4; an image model takes [n, ${bands}, h, w] (NCHW) or [n, h, w, ${bands}] (NHWC)`);
  }
  const inputLayout = pickLayout(input.dims, bands, card.input?.layout, () =>
    cardError('bands', `the card lists ${bands} bands (${card.bands.join(', ')}) but input ${describeValue(input)} has ${bands} on neither axis 1 (NCHW) nor axis 3 (NHWC)`),
  ) ?? ambiguous(input, label);
  const [batch, height, width] = inputLayout === 'NCHW' ? [input.dims[0], input.dims[2], input.dims[3]] : [input.dims[0], input.dims[1], input.dims[2]];
  if (typeof batch === 'number' && batch !== 1) {
    throw graphError(label, `its input ${describeValue(input)} has a fixed batch of ${batch}; export it with a dynamic batch (or 1)`);
  }
  const fixedSize = spatialSize(height ?? null, width ?? null, input, card.tile.size, label);

  // The first output is the segmentation (an export's auxiliary heads come after it).
  const output = graph.outputs[0]!;
  if (output.elemType !== 'float') throw graphError(label, `its output ${describeValue(output)} is ${output.elemType}; cloudseg reads float32 scores`);
  const wanted = card.classes?.length ?? null;
  const produced = graph.outputOps[output.name] ?? null;
  let outputLayout: TensorIo['outputLayout'];
  let channels: number | null;
  if (output.dims?.length === 3) {
    outputLayout = 'NHW';
    channels = 1;
  } else if (output.dims?.length === 4) {
    // The input's layout, unless its channel axis is open and the other axis is fixed at the class count.
    const own = output.dims[inputLayout === 'NCHW' ? 1 : 3];
    const across = output.dims[inputLayout === 'NCHW' ? 3 : 1];
    outputLayout = typeof own !== 'number' && typeof across === 'number' && (wanted === null || across === wanted) ? other(inputLayout) : inputLayout;
    const channelDim = output.dims[outputLayout === 'NCHW' ? 1 : 3];
    channels = typeof channelDim === 'number' ? channelDim : null;
  } else {
    throw graphError(label, `its output ${describeValue(output)} is not [n, c, h, w], [n, h, w, c] or [n, h, w]`);
  }
  if (wanted !== null) {
    if (channels !== null && channels !== wanted) {
      throw cardError('classes', `the card lists ${wanted} classes (${card.classes!.map((c) => c.name).join(', ')}) but output ${describeValue(output)} has ${channels} channel${channels === 1 ? '' : 's'}`);
    }
  } else if (channels !== null && card.output.cloudChannel >= channels) {
    throw cardError('output.cloudChannel', `output.cloudChannel is ${card.output.cloudChannel} but output ${describeValue(output)} has ${channels} channel${channels === 1 ? '' : 's'} (list classes for a class model)`);
  }
  // A graph that ends in Softmax/Sigmoid already gives probabilities; logits get the activation here.
  const logits = card.output.activation === 'linear' && produced !== 'Softmax' && produced !== 'Sigmoid';
  const head: TensorIo['head'] = wanted !== null ? { kind: 'classes', softmax: logits } : { kind: 'cloud', channel: outputLayout === 'NHW' ? 0 : card.output.cloudChannel, sigmoid: logits };
  return {
    io: { inputName: input.name, outputName: output.name, inputLayout, outputLayout, head, batchOne: batch === 1 },
    fixedSize,
    outputChannels: channels,
  };
}

/**
 * The layout whose band axis holds `bands`. Exports fix the band axis and leave height and width
 * dynamic, so a fixed axis 1 or 3 is the band axis; the card's word decides when nothing does.
 */
function pickLayout(dims: GraphDim[], bands: number, stated: TensorLayout | undefined, mismatch: () => Error): TensorLayout | null {
  const fixed = (axis: 1 | 3) => typeof dims[axis] === 'number';
  if (stated) {
    const axis = stated === 'NCHW' ? 1 : 3;
    if (fixed(axis) && dims[axis] !== bands) throw mismatch();
    return stated;
  }
  if (fixed(1) && fixed(3)) {
    if (dims[1] === bands && dims[3] === bands) return null;
    if (dims[1] === bands) return 'NCHW';
    if (dims[3] === bands) return 'NHWC';
    throw mismatch();
  }
  if (fixed(1)) {
    if (dims[1] === bands) return 'NCHW';
    throw mismatch();
  }
  if (fixed(3)) {
    if (dims[3] === bands) return 'NHWC';
    throw mismatch();
  }
  return null;
}

function spatialSize(height: GraphDim, width: GraphDim, input: GraphValue, tileSize: number, label: string): number | null {
  const fixedH = typeof height === 'number' ? height : null;
  const fixedW = typeof width === 'number' ? width : null;
  if (fixedH === null && fixedW === null) return null;
  if (fixedH === null || fixedW === null || fixedH !== fixedW) {
    throw graphError(label, `its input ${describeValue(input)} fixes ${fixedH ?? 'no'} height and ${fixedW ?? 'no'} width; cloudseg tiles are square (export with both dynamic, or both fixed)`);
  }
  if (fixedH !== tileSize) {
    throw cardError('tile.size', `tile.size is ${tileSize} but input ${describeValue(input)} takes ${fixedH}x${fixedH} tiles only (set tile.size: ${fixedH})`);
  }
  return fixedH;
}

function ambiguous(input: GraphValue, label: string): never {
  throw new CloudsegError('MODEL_CARD_INVALID', `${label}: input ${describeValue(input)} could be NCHW or NHWC; state input.layout in the card`, {
    details: { fields: ['input.layout'] },
  });
}

function other(layout: TensorLayout): TensorLayout {
  return layout === 'NCHW' ? 'NHWC' : 'NCHW';
}

