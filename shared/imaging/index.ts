// The imaging area's public surface: decode uploads, scale them for the model, encode masks and
// quick-looks, stack single-band files; tiling and stitching live in tiling.ts.
export * from './types.js';
export * from './decode.js';
export * from './scaling.js';
export * from './encode.js';
export * from './stack.js';
export * from './geotiff-write.js';
export * from './tiling.js';
