import os from 'node:os';
import type { Message } from '../../i18n/index.js';
import { mapConcurrent } from '../../images/concurrency.js';
import { ImageError } from '../../images/errors.js';
import { findNearDuplicates, perceptualHash, type HashedImage, type NearDuplicate } from '../../images/phash.js';
import { preprocessImage, type PreprocessOptions, type PreprocessResult } from '../../images/preprocess.js';
import type { Refusal } from './refusal.js';
import { zipEntries, type ZipFileEntry, type ZipItem, type ZipLimits } from './zip.js';

/** One picture taken: the bytes as uploaded, the training square, and its perceptual hash. */
export interface AcceptedImage {
  /** Path inside the archive, or the attachment's file name. */
  name: string;
  original: Buffer;
  processed: PreprocessResult;
  phash: string;
}

export interface IntakeOptions {
  preprocess?: PreprocessOptions;
  /** Pictures processed at once (default: one per core). */
  concurrency?: number;
  /** Hashes of the pictures already in the dataset, so a re-upload is reported too. */
  existing?: readonly HashedImage[];
  /** Hamming distance at or under which two pictures are reported as near-duplicates. */
  duplicateThreshold?: number;
}

export interface IntakeReport {
  accepted: Array<{ name: string; phash: string; warnings: string[]; warningMessages: Message[] }>;
  refused: Refusal[];
  nearDuplicates: NearDuplicate[];
}

/**
 * Takes pictures in: each is checked, preprocessed and hashed, with at most `concurrency` in
 * flight, and handed to `store` (which writes it under DATA_DIR) before the next is pulled, so a
 * 64-drawing archive never sits decoded in memory. A picture that fails is refused with the
 * reason; the others go on.
 */
export async function intakeFiles(
  files: Iterable<ZipFileEntry | ZipItem> | AsyncIterable<ZipFileEntry | ZipItem>,
  store: (image: AcceptedImage) => Promise<void>,
  options: IntakeOptions = {},
): Promise<IntakeReport> {
  const report: IntakeReport = { accepted: [], refused: [], nearDuplicates: [] };
  const hashed: HashedImage[] = [];
  await mapConcurrent(files, options.concurrency ?? os.availableParallelism(), async (item) => {
    if ('kind' in item && item.kind === 'refused') {
      report.refused.push(item.refusal);
      return;
    }
    const { name, data } = 'kind' in item ? item.file : item;
    let processed: PreprocessResult;
    let phash: string;
    try {
      processed = await preprocessImage(data, options.preprocess);
      // Hashing the small square is far cheaper than hashing the upload, and what the dataset
      // holds is the square anyway.
      phash = await perceptualHash(processed.image);
    } catch (error) {
      if (!(error instanceof ImageError)) throw error;
      report.refused.push({ name, code: error.code, reason: error.text });
      return;
    }
    await store({ name, original: data, processed, phash });
    report.accepted.push({ name, phash, warnings: processed.warnings, warningMessages: processed.warningMessages });
    hashed.push({ name, hash: phash });
  });
  const existing = options.existing ?? [];
  const known = new Set(existing.map((image) => image.name));
  report.nearDuplicates = findNearDuplicates([...existing, ...hashed], options.duplicateThreshold).filter(
    // Pairs of two pictures that were already in the dataset were reported when they came in.
    (pair) => !(known.has(pair.a) && known.has(pair.b)),
  );
  return report;
}

/** intakeFiles over a zip read entry by entry; the archive's own refusals are in the report. */
export function intakeArchive(
  zip: Buffer,
  limits: ZipLimits,
  store: (image: AcceptedImage) => Promise<void>,
  options: IntakeOptions = {},
): Promise<IntakeReport> {
  return intakeFiles(zipEntries(zip, limits), store, options);
}
