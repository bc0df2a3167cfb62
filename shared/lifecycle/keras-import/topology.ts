// Keras model_config -> TF.js Layers model_config: keeps the topology, opens the fixed input size to
// any height and width, drops the config keys tfjs-layers refuses, and refuses layers it cannot run.
import { CloudsegError } from '../../errors.js';

/**
 * Keras layer classes tfjs-layers deserialises with the same config, each with the keys to drop
 * (tfjs throws on them; they only matter for training).
 */
export const SUPPORTED_LAYERS: Readonly<Record<string, readonly string[]>> = {
  InputLayer: [],
  Conv2D: [],
  // tfjs SeparableConv2D has no plain kernel: these three keys make its constructor throw.
  SeparableConv2D: ['kernel_initializer', 'kernel_regularizer', 'kernel_constraint'],
  DepthwiseConv2D: [],
  Conv2DTranspose: [],
  BatchNormalization: [],
  Activation: [],
  ReLU: [],
  LeakyReLU: [],
  MaxPooling2D: [],
  AveragePooling2D: [],
  UpSampling2D: [],
  Concatenate: [],
  Add: [],
  Multiply: [],
  Dropout: [],
  SpatialDropout2D: [],
  ZeroPadding2D: [],
  Cropping2D: [],
};

/** Model classes whose config is a layer graph tfjs reads as `Model`. */
const GRAPH_MODEL_CLASSES = ['Model', 'Functional'] as const;

interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown;
}

export interface ConvertedTopology {
  /** The tfjs `modelTopology.model_config`. */
  modelConfig: { class_name: 'Model'; config: Record<string, unknown> };
  /** Channels of the (single) input, when the config states them. */
  inputChannels: number | null;
  /** Layer classes present, for the record. */
  layerClasses: string[];
  /** The output layer's activation, which tells the card how to read the output. */
  outputActivation: OutputActivation;
}

export const OUTPUT_ACTIVATIONS = ['sigmoid', 'softmax', 'linear'] as const;
export type OutputActivation = (typeof OUTPUT_ACTIVATIONS)[number];

/** Converts a Keras functional model config; MODEL_IMPORT_UNSUPPORTED names the first layer tfjs cannot run. */
export function convertModelConfig(modelConfig: { class_name: string; config: Record<string, unknown> }): ConvertedTopology {
  if (!(GRAPH_MODEL_CLASSES as readonly string[]).includes(modelConfig.class_name)) {
    throw new CloudsegError('MODEL_IMPORT_UNSUPPORTED', `model class ${modelConfig.class_name} is not supported (only functional models: ${GRAPH_MODEL_CLASSES.join(', ')})`, {
      details: { modelClass: modelConfig.class_name },
    });
  }
  const layers = modelConfig.config.layers;
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new CloudsegError('MODEL_IMPORT_INVALID', 'model_config has no layers');
  }
  const inputNames = inputLayerNames(modelConfig.config.input_layers);
  if (inputNames.length !== 1) {
    throw new CloudsegError('MODEL_IMPORT_UNSUPPORTED', `the model has ${inputNames.length} inputs; a segmentation model has exactly one`);
  }
  let inputChannels: number | null = null;
  const classes = new Set<string>();
  const converted = (layers as KerasLayer[]).map((layer, i) => {
    const name = layer.name ?? (layer.config?.name as string | undefined) ?? `#${i}`;
    const drop = Object.hasOwn(SUPPORTED_LAYERS, layer.class_name) ? SUPPORTED_LAYERS[layer.class_name] : undefined;
    if (!drop) {
      throw new CloudsegError(
        'MODEL_IMPORT_UNSUPPORTED',
        `layer "${name}" is a ${layer.class_name}, which the TF.js import does not support (supported: ${Object.keys(SUPPORTED_LAYERS).join(', ')})`,
        { details: { layer: name, layerClass: layer.class_name } },
      );
    }
    classes.add(layer.class_name);
    const config = { ...layer.config };
    for (const key of drop) delete config[key];
    if (layer.class_name === 'InputLayer' && inputNames.includes(name)) {
      const opened = openInputShape(config, name);
      // Keras 3 calls it batch_shape; tfjs-layers reads batch_input_shape.
      delete config.batch_shape;
      config.batch_input_shape = opened.shape;
      inputChannels = opened.channels;
    }
    return { ...layer, config };
  });
  return {
    modelConfig: { class_name: 'Model', config: { ...modelConfig.config, layers: converted } },
    inputChannels,
    layerClasses: [...classes],
    outputActivation: outputActivation(converted, modelConfig.config.output_layers),
  };
}

function outputActivation(layers: KerasLayer[], outputLayers: unknown): OutputActivation {
  const names = inputLayerNames(outputLayers);
  if (names.length !== 1) throw new CloudsegError('MODEL_IMPORT_UNSUPPORTED', `the model has ${names.length} outputs; a segmentation model has exactly one`);
  const layer = layers.find((l) => (l.name ?? l.config.name) === names[0]);
  const activation = layer?.config.activation ?? 'linear';
  if (!(OUTPUT_ACTIVATIONS as readonly unknown[]).includes(activation)) {
    throw new CloudsegError('MODEL_IMPORT_UNSUPPORTED', `output layer "${names[0]}" has activation ${JSON.stringify(activation)}; supported: ${OUTPUT_ACTIVATIONS.join(', ')}`);
  }
  return activation as OutputActivation;
}

function inputLayerNames(inputLayers: unknown): string[] {
  if (!Array.isArray(inputLayers)) return [];
  // Keras writes [[name, 0, 0], ...] or, for a single input in newer versions, [name, 0, 0].
  if (typeof inputLayers[0] === 'string') return [inputLayers[0]];
  return inputLayers.map((entry) => (Array.isArray(entry) ? String(entry[0]) : String(entry)));
}

// A U-Net trained on 32x32 patches is fully convolutional: NHWC [null, 32, 32, C] becomes
// [null, null, null, C] so whole scenes and 512-pixel tiles run through it.
function openInputShape(config: Record<string, unknown>, name: string): { shape: (number | null)[]; channels: number | null } {
  const key = 'batch_input_shape' in config ? 'batch_input_shape' : 'batch_shape' in config ? 'batch_shape' : null;
  const shape = key ? config[key] : null;
  if (!key || !Array.isArray(shape)) {
    throw new CloudsegError('MODEL_IMPORT_INVALID', `input layer "${name}" has no batch_input_shape`);
  }
  if (shape.length !== 4) {
    throw new CloudsegError('MODEL_IMPORT_UNSUPPORTED', `input layer "${name}" has shape [${shape.join(', ')}]; an image model takes NHWC (rank 4)`);
  }
  const channels = shape[3];
  return { shape: [null, null, null, typeof channels === 'number' ? channels : null], channels: typeof channels === 'number' ? channels : null };
}
