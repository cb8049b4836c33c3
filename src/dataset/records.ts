import type { Message } from '../i18n/index.js';

/**
 * The dataset of one server: its reference drawings, kept twice — the original (shown next to
 * generations; upright and without the upload's metadata, see keepableOriginal) and the square
 * training crop — plus each drawing's caption.
 * Files live under DATA_DIR; these records live in the store.
 */
export interface DatasetImage {
  /** Unique within the server; what `/dataset remove name:` takes. */
  name: string;
  /** Paths relative to DATA_DIR. */
  processedFile: string;
  originalFile: string;
  /** A smaller upright copy of the original for composites, made on first use. */
  displayFile?: string;
  /** The upload's size as displayed and its format (the kept original may be re-encoded as JPEG or PNG). */
  original: { width: number; height: number; format: string };
  /** Perceptual hash (hex) for near-duplicate reports. */
  phash: string;
  /** What the trainer was warned of when it came in: catalog messages (English strings in records from before). */
  warnings: Array<Message | string>;
  caption?: string;
  captionSource?: 'blip' | 'edited';
  addedBy: string;
  addedAt: number;
}

export interface Dataset {
  images: DatasetImage[];
}

