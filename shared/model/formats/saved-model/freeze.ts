// Freezes one serving signature of a SavedModel into a FrozenGraph: the call nodes
// (StatefulPartitionedCall/PartitionedCall) are inlined from the function library recursively,
// captured variables are found through the saved object graph (bound_inputs -> object node ->
// checkpoint key) and every ReadVariableOp becomes a constant from the checkpoint; Identity, NoOp
// and control edges vanish, and only what the signature's outputs need is kept.
import { CloudsegError } from '../../../errors.js';
import type { VariablesBundle } from './bundle.js';
import { OBJECT_GRAPH_KEY, stringTensorElements } from './bundle.js';
import { shapeOf, valuesFromBytes, valuesFromTensorProto } from './dtypes.js';
import type { FrozenConst, FrozenGraph, FrozenNode, SignatureTensor, TensorRef } from './frozen-graph.js';
import { decodeTrackableObjectGraph, type FunctionDef, type MetaGraphDef, type NodeDef } from './tf-protos.js';

export const DEFAULT_SIGNATURE = 'serving_default';

/** A value flowing through the graph while inlining: a tensor, or a captured variable handle. */
type Value = { kind: 'tensor'; ref: TensorRef } | { kind: 'variable'; key: string };
/** A node's outputs by flat index (undefined past the last). */
type Outputs = (index: number) => Value | undefined;
const listOutputs =
  (values: Value[]): Outputs =>
  (index) =>
    values[index];

const CALL_OPS = new Set(['StatefulPartitionedCall', 'PartitionedCall']);
const PASS_THROUGH_OPS = new Set(['Identity', 'Snapshot', 'StopGradient', 'PreventGradient']);
const REFERENCE_VARIABLE_OPS = new Set(['VariableV2', 'Variable']);
const CONTROL_FLOW_OPS = new Set(['If', 'StatelessIf', 'While', 'StatelessWhile', 'Case', 'StatelessCase']);

// Output argument layout of the ops with more than one named output (the others have one, maybe a list).
const OUTPUT_ARGS: Record<string, string[]> = {
  FusedBatchNorm: ['y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2'],
  FusedBatchNormV2: ['y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2'],
  FusedBatchNormV3: ['y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2', 'reserve_space_3'],
  TopKV2: ['values', 'indices'],
  Unique: ['y', 'idx'],
};

export function freezeSignature(metaGraph: MetaGraphDef, bundle: VariablesBundle, signatureName: string, where: string): FrozenGraph {
  const graph = metaGraph.graph_def;
  if (!graph) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: the MetaGraph has no GraphDef`);
  const signature = metaGraph.signature_def[signatureName];
  if (!signature) {
    const names = Object.keys(metaGraph.signature_def).filter((n) => !n.startsWith('__'));
    throw new CloudsegError('MODEL_CARD_INVALID', `${where} has no signature ${JSON.stringify(signatureName)} (it has: ${names.join(', ') || 'none'})`, {
      details: { fields: ['signature.name'] },
    });
  }
  const functions = new Map<string, FunctionDef>((graph.library?.function ?? []).map((f) => [f.signature.name, f]));
  const outerNodes = new Map<string, NodeDef>(graph.node.map((n) => [n.name, n]));
  const checkpointKeys = variableCheckpointKeys(metaGraph, bundle, where);
  const boundInputs = metaGraph.object_graph_def?.concrete_functions ?? {};
  // Writers strip attrs equal to their OpDef default (Keras 3 does): the OpDefs they keep restore them.
  const attrDefaults = new Map(
    (metaGraph.meta_info_def?.stripped_op_list?.op ?? []).map((op) => [
      op.name,
      Object.fromEntries(op.attr.filter((a) => a.default_value?.value !== undefined).map((a) => [a.name, a.default_value!])),
    ]),
  );

  const nodes: FrozenNode[] = [];
  const consts = new Map<string, FrozenConst>();
  const emittedNames = new Set<string>();
  const variableConsts = new Map<string, TensorRef>();

  const emit = (node: FrozenNode, value?: FrozenConst): TensorRef => {
    if (emittedNames.has(node.name)) throw new CloudsegError('INTERNAL', `${where}: node name ${node.name} emitted twice`);
    emittedNames.add(node.name);
    nodes.push(node);
    if (value) consts.set(node.name, value);
    return { node: node.name, index: 0 };
  };

  const readVariable = (key: string): TensorRef => {
    const known = variableConsts.get(key);
    if (known) return known;
    const tensor = bundle.tensor(key);
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    const data = valuesFromBytes(tensor.dtype, tensor.bytes, count, key);
    const name = `frozen/${key.replace(/\/\.ATTRIBUTES\/VARIABLE_VALUE$/, '')}`;
    const ref = emit({ name, op: 'Const', inputs: [], attr: {} }, { shape: tensor.shape, data });
    variableConsts.set(key, ref);
    return ref;
  };

  const asTensor = (value: Value, consumer: string): TensorRef => {
    if (value.kind === 'tensor') return value.ref;
    throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: ${consumer} uses variable ${value.key} other than by reading it (a stateful op cannot be frozen)`, {
      details: { op: consumer },
    });
  };

  // Emits a non-call, non-variable node under `name` with already resolved inputs.
  const emitOp = (def: NodeDef, name: string, inputs: Value[]): Outputs => {
    if (def.op === 'Const') {
      const tensor = def.attr.value?.tensor;
      if (!tensor) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: Const ${def.name} has no value`);
      const { shape, data } = valuesFromTensorProto(tensor, `${where}: ${def.name}`);
      return listOutputs([{ kind: 'tensor', ref: emit({ name, op: 'Const', inputs: [], attr: { dtype: def.attr.dtype ?? { value: 'type', type: tensor.dtype } } }, { shape, data }) }]);
    }
    const ref = emit({ name, op: def.op, inputs: inputs.map((v) => asTensor(v, `${def.op} ${def.name}`)), attr: { ...attrDefaults.get(def.op), ...def.attr } });
    // Any index is the node's own output: TensorFlow checked the arity when it built the graph.
    return (index) => ({ kind: 'tensor', ref: { node: ref.node, index } });
  };

  // Evaluates one node (outer graph or function body) given its resolved inputs.
  const evaluate = (def: NodeDef, name: string, inputs: Value[]): Outputs => {
    if (CALL_OPS.has(def.op)) {
      const fname = def.attr.f?.func?.name ?? '';
      return listOutputs(inlineFunction(fname, inputs, `${name}/`));
    }
    if (PASS_THROUGH_OPS.has(def.op)) return listOutputs(inputs.slice(0, 1));
    if (def.op === 'IdentityN') return listOutputs(inputs);
    if (def.op === 'ReadVariableOp') {
      const handle = inputs[0];
      if (handle?.kind !== 'variable') throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: ReadVariableOp ${def.name} reads no captured variable`);
      return listOutputs([{ kind: 'tensor', ref: readVariable(handle.key) }]);
    }
    if (def.op === 'NoOp') return listOutputs([]);
    if (def.op === 'VarHandleOp') {
      throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: variable ${def.name} is created inside the signature, not captured`, { details: { op: def.op } });
    }
    if (REFERENCE_VARIABLE_OPS.has(def.op)) {
      throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: ${def.op} ${def.name} is a TF1 reference variable; only TF2 (object-based) SavedModels are supported`, { details: { op: def.op } });
    }
    if (CONTROL_FLOW_OPS.has(def.op)) {
      throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: control flow (${def.op} ${def.name}) cannot be frozen into one graph`, { details: { op: def.op } });
    }
    return emitOp(def, name, inputs);
  };

  const inlineFunction = (fname: string, args: Value[], prefix: string): Value[] => {
    const fn = functions.get(fname);
    if (!fn) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: function ${fname} is not in the library`);
    const argNames = fn.signature.input_arg.map((a) => a.name);
    if (args.length !== argNames.length) {
      throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: ${fname} takes ${argNames.length} inputs, the call passes ${args.length}`);
    }
    const env = new Map(argNames.map((n, i) => [n, args[i]!]));
    const body = new Map(fn.node_def.map((n) => [n.name, n]));
    const done = new Map<string, Outputs>();
    const resolving = new Set<string>();

    // Function bodies name tensors `node:output_arg:index` or `input_arg`.
    const resolve = (ref: string): Value => {
      const direct = env.get(ref);
      if (direct) return direct;
      const [nodeName, argName, indexText] = ref.split(':');
      const def = body.get(nodeName!);
      if (!def) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: ${fname} refers to unknown tensor ${ref}`);
      let outputs = done.get(def.name);
      if (!outputs) {
        if (resolving.has(def.name)) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: ${fname} has a cycle through ${def.name}`);
        resolving.add(def.name);
        const inputs = def.input.filter((i) => !i.startsWith('^')).map(resolve);
        outputs = evaluate(def, `${prefix}${def.name}`, inputs);
        done.set(def.name, outputs);
      }
      const offset = OUTPUT_ARGS[def.op]?.indexOf(argName ?? '') ?? 0;
      const value = outputs(Math.max(0, offset) + Number(indexText ?? 0));
      if (!value) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: ${ref} is not an output of ${def.op}`);
      return value;
    };
    return fn.signature.output_arg.map((arg) => {
      const ref = fn.ret[arg.name];
      if (ref === undefined) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: ${fname} does not return ${arg.name}`);
      return resolve(ref);
    });
  };

  // The outer graph names tensors `node:index`; placeholders are the signature's inputs.
  const outerDone = new Map<string, Outputs>();
  const resolveOuter = (ref: string): Value => {
    const [nodeName, indexText] = ref.split(':');
    const def = outerNodes.get(nodeName!);
    if (!def) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: the graph has no node ${nodeName}`);
    let outputs = outerDone.get(def.name);
    if (!outputs) {
      if (def.op === 'Placeholder') {
        outputs = listOutputs([{ kind: 'tensor', ref: emit({ name: def.name, op: 'Placeholder', inputs: [], attr: def.attr }) }]);
      } else if (CALL_OPS.has(def.op)) {
        outputs = listOutputs(evaluateOuterCall(def));
      } else {
        outputs = evaluate(def, def.name, def.input.filter((i) => !i.startsWith('^')).map(resolveOuter));
      }
      outerDone.set(def.name, outputs);
    }
    const value = outputs(Number(indexText ?? 0));
    if (!value) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: ${ref} is no output of ${def.op}`);
    return value;
  };

  // The trailing inputs of a signature's call are its captures: the saved object graph's
  // bound_inputs say which object (variable) each one is.
  const evaluateOuterCall = (def: NodeDef): Value[] => {
    const fname = def.attr.f?.func?.name ?? '';
    const inputs = def.input.filter((i) => !i.startsWith('^'));
    const bound = boundInputs[fname]?.bound_inputs ?? [];
    const firstCapture = inputs.length - bound.length;
    const args: Value[] = inputs.map((input, i) => {
      if (i < firstCapture) return resolveOuter(input);
      const nodeId = bound[i - firstCapture]!;
      const key = checkpointKeys.get(nodeId);
      if (!key) {
        throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: ${fname} captures object ${nodeId}, which is no variable in the checkpoint (only variables can be frozen)`);
      }
      return { kind: 'variable', key };
    });
    return inlineFunction(fname, args, `${def.name}/`);
  };

  const tensorOf = (key: string, info: { name: string; dtype: number; tensor_shape?: { dim: { size: number; name: string }[]; unknown_rank: boolean } }): SignatureTensor => {
    const value = resolveOuter(info.name);
    return { key, dtype: info.dtype, shape: shapeOf(info.tensor_shape), tensor: asTensor(value, `output ${key}`) };
  };
  const inputs = Object.entries(signature.inputs).map(([key, info]) => tensorOf(key, info));
  const outputs = Object.entries(signature.outputs).map(([key, info]) => tensorOf(key, info));
  const info = metaGraph.meta_info_def;
  return { nodes, consts, inputs, outputs, signature: signatureName, producer: `TensorFlow ${info?.tensorflow_version ?? '?'}` };
}

/** Object-graph node id -> checkpoint key of its VARIABLE_VALUE, from the checkpoint's own object graph. */
function variableCheckpointKeys(metaGraph: MetaGraphDef, bundle: VariablesBundle, where: string): Map<number, string> {
  const keys = new Map<number, string>();
  if (!bundle.keys().includes(OBJECT_GRAPH_KEY)) return keys;
  const [serialized] = stringTensorElements(bundle.tensor(OBJECT_GRAPH_KEY).bytes, `${where}: ${OBJECT_GRAPH_KEY}`);
  const graph = decodeTrackableObjectGraph(serialized ?? new Uint8Array());
  const saved = metaGraph.object_graph_def?.nodes ?? [];
  graph.nodes.forEach((node, id) => {
    const attribute = node.attributes.find((a) => a.name === 'VARIABLE_VALUE');
    if (!attribute) return;
    const savedNode = saved[id];
    if (savedNode?.variable && savedNode.variable.experimental_distributed_variable_components.length > 0) {
      throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: distributed variable ${savedNode.variable.name} is not supported`);
    }
    keys.set(id, attribute.checkpoint_key);
  });
  return keys;
}
