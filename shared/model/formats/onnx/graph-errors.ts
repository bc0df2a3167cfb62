// The two ways an ONNX graph can fail to serve, worded once for the worker's load and the import:
// the graph itself cannot be a segmentation model, or the card says something the graph does not.
import { CloudsegError } from '../../../errors.js';
import { formatDims, type GraphValue } from './describe-graph.js';

/** "image [n, 4, h, w]" for messages. */
export function describeValue(v: GraphValue): string {
  return `${v.name} ${formatDims(v.dims)}`;
}

export function graphError(label: string, why: string): CloudsegError {
  return new CloudsegError('MODEL_LOAD_FAILED', `${label} cannot serve as a segmentation model: ${why}`);
}

export function cardError(field: string, message: string): CloudsegError {
  return new CloudsegError('MODEL_CARD_INVALID', `${field}: ${message}`, { details: { fields: [field] } });
}
