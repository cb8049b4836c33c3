import os from 'node:os';
import { Canvas, centred, thumbnail } from './canvas.js';
import { mapConcurrent } from './concurrency.js';
import type { RawImage } from './raw.js';
import { labelHeight, renderLabel, type LabelOptions } from './text.js';

/** The sheets of many small pictures: the dataset's contact sheet, the /compare grid, the training preview. */

export interface LabelledImage {
  image: Buffer;
  label: string;
}

const GUTTER = 8;

/**
 * Lays out cells of `cell`×`cell` pictures with a label under each, `columns` to a row, under an
 * optional title. Thumbnails are decoded with bounded parallelism: a sheet of a 200-image dataset
 * must not hold 200 decodes at once.
 */
async function grid(
  cells: readonly LabelledImage[],
  columns: number,
  cell: number,
  label: LabelOptions,
  title?: string,
): Promise<RawImage> {
  if (cells.length === 0) throw new RangeError('a sheet needs at least one picture');
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be a positive integer, got ${columns}`);
  if (!Number.isInteger(cell) || cell < 32 || cell > 2048) throw new RangeError(`cell must be an integer from 32 to 2048, got ${cell}`);
  const titleStyle: LabelOptions = { scale: 3 };
  const titleHeight = title === undefined ? 0 : labelHeight(titleStyle) + GUTTER;
  const pitchX = cell + GUTTER;
  const pitchY = cell + labelHeight(label) + GUTTER;
  const rows = Math.ceil(cells.length / columns);
  const canvas = new Canvas(GUTTER + columns * pitchX, GUTTER + titleHeight + rows * pitchY);
  if (title !== undefined) {
    canvas.draw(renderLabel(title, { ...titleStyle, maxWidth: canvas.width - 2 * GUTTER }), GUTTER, GUTTER);
  }
  const thumbnails = await mapConcurrent(cells, os.availableParallelism(), (item) => thumbnail(item.image, cell));
  thumbnails.forEach((picture, index) => {
    const left = GUTTER + (index % columns) * pitchX;
    const top = GUTTER + titleHeight + Math.floor(index / columns) * pitchY;
    canvas.draw(picture, left + centred(cell, picture.width), top + centred(cell, picture.height));
    canvas.draw(renderLabel(cells[index]?.label ?? '', { ...label, maxWidth: cell }), left, top + cell);
  });
  return canvas.toRaw();
}

/** /dataset list: the dataset's pictures as thumbnails in a grid, each with its name. */
export function contactSheet(
  items: readonly LabelledImage[],
  options: { columns?: number; cell?: number } = {},
): Promise<RawImage> {
  const columns = options.columns ?? Math.min(8, items.length);
  return grid(items, columns, options.cell ?? 192, { scale: 2 });
}

/** /compare: the same prompt and seed across values, one labelled cell per value. */
export function comparisonGrid(
  cells: readonly LabelledImage[],
  title: string,
  options: { columns?: number; cell?: number } = {},
): Promise<RawImage> {
  const columns = options.columns ?? (cells.length <= 4 ? cells.length : Math.ceil(Math.sqrt(cells.length)));
  return grid(cells, columns, options.cell ?? 384, { scale: 3 }, title);
}

export interface PreviewRow {
  /** The artist's drawing the prompt is about, shown first in the row. */
  reference: Buffer;
  images: readonly Buffer[];
  /** The prompt of the row. */
  label: string;
}

/**
 * A training checkpoint's preview: `title` (the step) on top, then one row per prompt: the prompt
 * across the row, the artist's drawing first (tagged "reference"), then what the checkpoint made
 * of the prompt.
 */
export async function previewSheet(
  rows: readonly PreviewRow[],
  title: string,
  options: { cell?: number } = {},
): Promise<RawImage> {
  if (rows.length === 0) throw new RangeError('a preview needs at least one row');
  const cell = options.cell ?? 256;
  if (!Number.isInteger(cell) || cell < 32 || cell > 2048) throw new RangeError(`cell must be an integer from 32 to 2048, got ${cell}`);
  const columns = 1 + Math.max(...rows.map((row) => row.images.length));
  const titleStyle: LabelOptions = { scale: 3 };
  const rowStyle: LabelOptions = { scale: 2 };
  const titleHeight = labelHeight(titleStyle) + GUTTER;
  const rowPitch = labelHeight(rowStyle) + GUTTER / 2 + cell + GUTTER;
  const canvas = new Canvas(GUTTER + columns * (cell + GUTTER), GUTTER + titleHeight + rows.length * rowPitch);
  canvas.draw(renderLabel(title, { ...titleStyle, maxWidth: canvas.width - 2 * GUTTER }), GUTTER, GUTTER);
  const pictures = rows.flatMap((row, rowIndex) =>
    [row.reference, ...row.images].map((image, column) => ({ image, rowIndex, column })),
  );
  const decoded = await mapConcurrent(pictures, os.availableParallelism(), (picture) => thumbnail(picture.image, cell));
  const tag = renderLabel('reference', { scale: 2, theme: 'light' });
  rows.forEach((row, rowIndex) => {
    const top = GUTTER + titleHeight + rowIndex * rowPitch;
    canvas.draw(renderLabel(row.label, { ...rowStyle, maxWidth: canvas.width - 2 * GUTTER }), GUTTER, top);
    const cellsTop = top + labelHeight(rowStyle) + GUTTER / 2;
    pictures.forEach((picture, index) => {
      const thumb = decoded[index];
      if (picture.rowIndex !== rowIndex || !thumb) return;
      const left = GUTTER + picture.column * (cell + GUTTER);
      canvas.draw(thumb, left + centred(cell, thumb.width), cellsTop + centred(cell, thumb.height));
      if (picture.column === 0) canvas.draw(tag, left, cellsTop + cell - tag.height);
    });
  });
  return canvas.toRaw();
}
