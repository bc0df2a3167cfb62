// The face every model format shows: read the files of a model directory, check them against the
// card, and hand the engines the same thing (an ONNX graph and/or TF.js artifacts, and how the
// graph's tensors meet the tiles). Adding a format is its folder plus its entry in formats/index.ts.
import type { EngineModel } from '../../engines/types.js';
import type { Logger } from '../../logging.js';
import type { ModelCard, ModelFormatName } from '../types.js';

export interface FormatRequest {
  dir: string;
  card: ModelCard;
  /** The DVC md5 of the model directory: the key under which derived artefacts (exported graphs) are cached. */
  md5: string;
  logger?: Logger;
}

/** A model as its format read it: what the engines run, and the card as the files refine it. */
export interface FormatModel extends EngineModel {
  /** The card, refined by what the files say (a graph that takes one tile size sets sizeMultiple). */
  readonly card: ModelCard;
}

export interface ModelFormat {
  readonly name: ModelFormatName;
  /**
   * Reads what must be checked before any engine (its problems are the model's, the same on every
   * engine, and say so by name); anything an engine may not need is read when it asks.
   */
  load(request: FormatRequest): Promise<FormatModel>;
}

/** The parts of a FormatModel every format fills the same way from the card. */
export function cardFacts(request: FormatRequest, card: ModelCard = request.card): Pick<FormatModel, 'card' | 'name' | 'format' | 'dir' | 'bands' | 'output'> {
  return { card, name: card.name, format: card.format, dir: request.dir, bands: card.bands.length, output: card.output };
}
