// The subset of TensorFlow's protocol buffer messages a SavedModel reader needs, written from the
// field numbers of tensorflow/core/{protobuf,framework}/*.proto and decoded with protobufjs. Fields
// cloudseg never reads are left out: protobuf skips unknown fields, so nothing else must match.
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package tf;

message SavedModel {
  int64 saved_model_schema_version = 1;
  repeated MetaGraphDef meta_graphs = 2;
}

message MetaGraphDef {
  message MetaInfoDef {
    string meta_graph_version = 1;
    OpList stripped_op_list = 2;
    repeated string tags = 4;
    string tensorflow_version = 5;
    string tensorflow_git_version = 6;
  }
  MetaInfoDef meta_info_def = 1;
  GraphDef graph_def = 2;
  map<string, SignatureDef> signature_def = 5;
  SavedObjectGraph object_graph_def = 7;
}

message TensorInfo {
  string name = 1;
  int32 dtype = 2;
  TensorShapeProto tensor_shape = 3;
}

message SignatureDef {
  map<string, TensorInfo> inputs = 1;
  map<string, TensorInfo> outputs = 2;
  string method_name = 3;
}

message GraphDef {
  repeated NodeDef node = 1;
  FunctionDefLibrary library = 2;
  VersionDef versions = 4;
}

message VersionDef {
  int32 producer = 1;
  int32 min_consumer = 2;
}

message NodeDef {
  string name = 1;
  string op = 2;
  repeated string input = 3;
  string device = 4;
  map<string, AttrValue> attr = 5;
}

message FunctionDefLibrary {
  repeated FunctionDef function = 1;
}

message FunctionDef {
  OpDef signature = 1;
  repeated NodeDef node_def = 3;
  map<string, string> ret = 4;
  map<string, AttrValue> attr = 5;
  map<string, string> control_ret = 6;
}

message OpDef {
  message ArgDef {
    string name = 1;
    int32 type = 3;
    string type_attr = 4;
    string number_attr = 5;
    string type_list_attr = 6;
  }
  message AttrDef {
    string name = 1;
    string type = 2;
    AttrValue default_value = 3;
  }
  string name = 1;
  repeated ArgDef input_arg = 2;
  repeated ArgDef output_arg = 3;
  repeated AttrDef attr = 4;
}

message OpList {
  repeated OpDef op = 1;
}

message AttrValue {
  message ListValue {
    repeated bytes s = 2;
    repeated int64 i = 3 [packed = true];
    repeated float f = 4 [packed = true];
    repeated bool b = 5 [packed = true];
    repeated int32 type = 6 [packed = true];
    repeated TensorShapeProto shape = 7;
    repeated TensorProto tensor = 8;
    repeated NameAttrList func = 9;
  }
  oneof value {
    ListValue list = 1;
    bytes s = 2;
    int64 i = 3;
    float f = 4;
    bool b = 5;
    int32 type = 6;
    TensorShapeProto shape = 7;
    TensorProto tensor = 8;
    string placeholder = 9;
    NameAttrList func = 10;
  }
}

message NameAttrList {
  string name = 1;
  map<string, AttrValue> attr = 2;
}

message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true];
  repeated int32 int_val = 7 [packed = true];
  repeated bytes string_val = 8;
  repeated int64 int64_val = 10 [packed = true];
  repeated bool bool_val = 11 [packed = true];
  repeated int32 half_val = 13 [packed = true];
  repeated uint32 uint32_val = 16 [packed = true];
  repeated uint64 uint64_val = 17 [packed = true];
}

message ObjectReference {
  int32 node_id = 1;
  string local_name = 2;
}

message SavedObjectGraph {
  repeated SavedObject nodes = 1;
  map<string, SavedConcreteFunction> concrete_functions = 2;
}

message SavedObject {
  repeated ObjectReference children = 1;
  oneof kind {
    SavedUserObject user_object = 4;
    SavedFunction function = 6;
    SavedVariable variable = 7;
    SavedBareConcreteFunction bare_concrete_function = 8;
    SavedConstant constant = 9;
    SavedResource resource = 10;
    CapturedTensor captured_tensor = 12;
  }
}

message SavedUserObject {
  string identifier = 1;
}

message SavedFunction {
  repeated string concrete_functions = 1;
}

message SavedBareConcreteFunction {
  string concrete_function_name = 1;
}

message SavedConstant {
  string operation = 1;
}

message SavedResource {
  string device = 1;
}

message CapturedTensor {
  string name = 1;
  string concrete_function = 2;
}

message SavedVariable {
  int32 dtype = 1;
  TensorShapeProto shape = 2;
  bool trainable = 3;
  string name = 6;
  repeated SavedVariable experimental_distributed_variable_components = 8;
}

message SavedConcreteFunction {
  repeated int32 bound_inputs = 2;
}

// trackable_object_graph.proto: stored in the bundle under _CHECKPOINTABLE_OBJECT_GRAPH.
message TrackableObjectGraph {
  message TrackableObject {
    message SerializedTensor {
      string name = 1;
      string full_name = 2;
      string checkpoint_key = 3;
    }
    repeated ObjectReference children = 1;
    repeated SerializedTensor attributes = 2;
  }
  repeated TrackableObject nodes = 1;
}

// tensor_bundle.proto
message BundleHeaderProto {
  enum Endianness {
    LITTLE = 0;
    BIG = 1;
  }
  int32 num_shards = 1;
  Endianness endianness = 2;
  VersionDef version = 3;
}

message TensorSliceProto {
  message Extent {
    int64 start = 1;
    int64 length = 2;
  }
  repeated Extent extent = 1;
}

message BundleEntryProto {
  int32 dtype = 1;
  TensorShapeProto shape = 2;
  int32 shard_id = 3;
  int64 offset = 4;
  int64 size = 5;
  fixed32 crc32c = 6;
  repeated TensorSliceProto slices = 7;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;

/** Decodes one message type to a plain object: int64 as numbers, bytes as Uint8Array, enums as numbers, defaults filled. */
function decoder<T>(type: string): (bytes: Uint8Array) => T {
  const message = root.lookupType(`tf.${type}`);
  return (bytes) => message.toObject(message.decode(bytes), { longs: Number, defaults: true, arrays: true, objects: true, oneofs: true }) as T;
}

// -- Plain shapes of the decoded messages (only what the reader uses) --

export interface TensorShape {
  dim: { size: number; name: string }[];
  unknown_rank: boolean;
}

export interface TensorProtoMsg {
  dtype: number;
  tensor_shape?: TensorShape;
  tensor_content: Uint8Array;
  float_val: number[];
  double_val: number[];
  int_val: number[];
  string_val: Uint8Array[];
  int64_val: number[];
  bool_val: boolean[];
  half_val: number[];
  uint32_val: number[];
  uint64_val: number[];
}

export interface AttrValue {
  value?: 'list' | 's' | 'i' | 'f' | 'b' | 'type' | 'shape' | 'tensor' | 'placeholder' | 'func';
  list?: {
    s: Uint8Array[];
    i: number[];
    f: number[];
    b: boolean[];
    type: number[];
    shape: TensorShape[];
    tensor: TensorProtoMsg[];
    func: NameAttrList[];
  };
  s?: Uint8Array;
  i?: number;
  f?: number;
  b?: boolean;
  type?: number;
  shape?: TensorShape;
  tensor?: TensorProtoMsg;
  placeholder?: string;
  func?: NameAttrList;
}

export interface NameAttrList {
  name: string;
  attr: Record<string, AttrValue>;
}

export interface NodeDef {
  name: string;
  op: string;
  input: string[];
  device: string;
  attr: Record<string, AttrValue>;
}

export interface ArgDef {
  name: string;
  type: number;
  type_attr: string;
  number_attr: string;
  type_list_attr: string;
}

export interface FunctionDef {
  signature: { name: string; input_arg: ArgDef[]; output_arg: ArgDef[] };
  node_def: NodeDef[];
  ret: Record<string, string>;
  attr: Record<string, AttrValue>;
}

export interface TensorInfo {
  name: string;
  dtype: number;
  tensor_shape?: TensorShape;
}

export interface SignatureDef {
  inputs: Record<string, TensorInfo>;
  outputs: Record<string, TensorInfo>;
  method_name: string;
}

export interface ObjectReference {
  node_id: number;
  local_name: string;
}

export interface SavedObject {
  children: ObjectReference[];
  kind?: string;
  variable?: { dtype: number; shape?: TensorShape; name: string; experimental_distributed_variable_components: unknown[] };
  function?: { concrete_functions: string[] };
  bare_concrete_function?: { concrete_function_name: string };
}

export interface MetaGraphDef {
  meta_info_def?: {
    tags: string[];
    tensorflow_version: string;
    tensorflow_git_version: string;
    /** The OpDefs of the ops used: their attr defaults fill what the writer stripped. */
    stripped_op_list?: { op: { name: string; attr: { name: string; type: string; default_value?: AttrValue }[] }[] };
  };
  graph_def?: { node: NodeDef[]; library?: { function: FunctionDef[] }; versions?: { producer: number; min_consumer: number } };
  signature_def: Record<string, SignatureDef>;
  object_graph_def?: { nodes: SavedObject[]; concrete_functions: Record<string, { bound_inputs: number[] }> };
}

export interface SavedModelMsg {
  saved_model_schema_version: number;
  meta_graphs: MetaGraphDef[];
}

export interface TrackableObjectGraphMsg {
  nodes: { children: ObjectReference[]; attributes: { name: string; full_name: string; checkpoint_key: string }[] }[];
}

export interface BundleHeaderMsg {
  num_shards: number;
  endianness: number;
  version?: { producer: number; min_consumer: number };
}

export interface BundleEntryMsg {
  dtype: number;
  shape?: TensorShape;
  shard_id: number;
  offset: number;
  size: number;
  crc32c: number;
  slices: unknown[];
}

export const decodeSavedModel = decoder<SavedModelMsg>('SavedModel');
export const decodeTrackableObjectGraph = decoder<TrackableObjectGraphMsg>('TrackableObjectGraph');
export const decodeBundleHeader = decoder<BundleHeaderMsg>('BundleHeaderProto');
export const decodeBundleEntry = decoder<BundleEntryMsg>('BundleEntryProto');

/**
 * Encodes a decoded SavedModel back to bytes: only the fields declared here survive, which is all
 * this reader needs (for tools and tests that rewrite a graph; TensorFlow itself wants the rest).
 */
export function encodeSavedModel(message: SavedModelMsg): Uint8Array {
  const type = root.lookupType('tf.SavedModel');
  return type.encode(type.fromObject(message as unknown as Record<string, unknown>)).finish();
}
