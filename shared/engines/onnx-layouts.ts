// How ONNX Runtime spreads over the cores; a leaf module so config can name the choices without
// loading an engine.
export const ONNX_LAYOUTS = ['intra-op', 'sessions'] as const;
export type OnnxLayout = (typeof ONNX_LAYOUTS)[number];
