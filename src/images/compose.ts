/**
 * The pictures the bot posts: the generated image next to the artist's drawing, the dataset's
 * contact sheet, the training preview and the /compare grid, plus the encoder that makes any of
 * them fit Discord's upload limit.
 *
 * One entry point for the callers; each concern lives in its own module: the drawing surface and
 * decoding (`canvas.ts`), the side-by-side reply (`side-by-side.ts`), the sheets of many pictures
 * (`sheets.ts`) and the encoder (`encode.ts`).
 */
export { encodeToFit, type EncodedImage, type EncodeOptions } from './encode.js';
export { composeSideBySide, type SideBySideInput } from './side-by-side.js';
export { comparisonGrid, contactSheet, previewSheet, type LabelledImage, type PreviewRow } from './sheets.js';
