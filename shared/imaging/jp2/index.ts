// JPEG 2000 (JP2 and bare codestreams) read window by window behind the raster-source seam.
export { openJp2Windows, type Jp2Windows, type Jp2WindowsOptions } from './jp2-windows.js';
export { sniffJp2, type Jp2Container } from './boxes.js';
