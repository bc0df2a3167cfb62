// How ONNX Runtime spreads over the cores: the names config validates and the engines act on. A
// leaf of config so the engines can import it without config importing an engine.
export const ONNX_LAYOUTS = ['intra-op', 'sessions'] as const;
export type OnnxLayout = (typeof ONNX_LAYOUTS)[number];
