// The model formats, one folder each, behind one face (ModelFormat): the list the loader picks from
// by the card's `format`. The compiler holds it to MODEL_FORMATS, the names a card may use.
import type { ModelFormatName } from '../types.js';
import { onnxFormat } from './onnx/index.js';
import { savedModelFormat } from './saved-model/index.js';
import { tfjsGraphFormat } from './tfjs-graph/index.js';
import { tfjsLayersFormat } from './tfjs-layers/index.js';
import type { ModelFormat } from './types.js';

export type { FormatModel, FormatRequest, ModelFormat } from './types.js';

export const FORMAT_READERS: { readonly [name in ModelFormatName]: ModelFormat & { name: name } } = {
  'tfjs-layers': tfjsLayersFormat,
  'tfjs-graph': tfjsGraphFormat,
  'saved-model': savedModelFormat,
  onnx: onnxFormat,
};

export function modelFormat(name: ModelFormatName): ModelFormat {
  return FORMAT_READERS[name];
}
