// The card's output head on a graph cloudseg exports itself (TF.js Layers, SavedModel): the cloud
// channel as [n, h, w] probability, or for a class model every class's probability channels last.
import type { ModelCard } from '../../types.js';
import type { Dim, OnnxGraphBuilder } from './onnx-graph.js';

export type HeadCard = Pick<ModelCard, 'output' | 'classes'>;

/** Adds the head after `modelOutput` (whose channels are on `channelAxis`); returns its tensor and dims. */
export function addOutputHead(g: OnnxGraphBuilder, modelOutput: string, channelAxis: 1 | 3, card: HeadCard): { tensor: string; dims: Dim[] } {
  if (card.classes) {
    let probability = channelAxis === 1 ? g.op('Transpose', [modelOutput], 'classes_nhwc', { perm: { ints: [0, 2, 3, 1] } }) : modelOutput;
    // Logits become class probabilities; a softmax or sigmoid head already gives them.
    if (card.output.activation === 'linear') probability = g.op('Softmax', [probability], 'class_probability', { axis: { int: -1 } });
    return { tensor: probability, dims: ['n', 'h', 'w', card.classes.length] };
  }
  const channel = g.int64Tensor('cloud_channel', [card.output.cloudChannel], []);
  let probability = g.op('Gather', [modelOutput, channel], 'cloud_channel', { axis: { int: channelAxis } });
  // A linear head emits logits: the sigmoid turns them into the probability the threshold expects.
  if (card.output.activation === 'linear') probability = g.op('Sigmoid', [probability], 'cloud_probability');
  return { tensor: probability, dims: ['n', 'h', 'w'] };
}
