import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { encodeToFit } from '../src/images/encode.js';
import { composeSideBySide } from '../src/images/side-by-side.js';
import { drawingSvg, ensureInputs } from './inputs.js';
import { median, round1, run as exec, timed, whichImageMagick } from './tools.js';

/**
 * Issue 4's measure: composing one /kmplz reply (a 1024² generated PNG next to one reference
 * drawing, labelled, encoded to fit Discord's limit), median of RUNS, and the same composite made
 * by ImageMagick in the same run. Two references: the display-size copy a reply should use
 * (768 px high, JPEG) and a 12 MP phone photo as uploaded, which is what decoding costs when the
 * original itself is the reference.
 */

const RUNS = 50;
const LIMIT = 10 * 1024 * 1024;
const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'out', 'compose');

async function composeMedian(generated: Buffer, reference: Buffer): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const ms = await timed(async () => {
      const side = await composeSideBySide({ generated, reference, leftLabel: 'KMPLZ · step 500', rightLabel: 'art: kimplz' });
      await encodeToFit(side, LIMIT, 'reply');
    });
    // The first runs warm up the JIT and libvips; they are not part of the figure.
    if (i >= 3) times.push(ms);
  }
  return round1(median(times));
}

export async function run(): Promise<Record<string, number | string>> {
  await mkdir(out, { recursive: true });
  const inputs = await ensureInputs(path.join(here, 'out', 'inputs'));
  const phone = inputs.find((input) => input.kind === 'phone-jpeg');
  if (!phone) throw new Error('no phone photo among the bench inputs');
  // What the generator returns: a 1024² PNG of a painterly picture.
  const generated = await sharp(Buffer.from(drawingSvg(1024, 1024, 7, false)))
    .composite([
      {
        input: await sharp({
          create: { width: 1024, height: 1024, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 8 } },
        })
          .png()
          .toBuffer(),
        blend: 'soft-light',
      },
    ])
    // The generator's PNGs have no alpha channel.
    .removeAlpha()
    .png()
    .toBuffer();
  const original = await readFile(phone.file);
  const display = await sharp(original, { autoOrient: true }).resize({ height: 768 }).jpeg({ quality: 90 }).toBuffer();
  const files = {
    generated: path.join(out, 'generated.png'),
    display: path.join(out, 'reference-768.jpg'),
    result: path.join(out, 'imagemagick.jpg'),
  };
  await writeFile(files.generated, generated);
  await writeFile(files.display, display);

  const figures: Record<string, number | string> = {
    compose_ms_median: await composeMedian(generated, display),
    compose_original_reference_ms_median: await composeMedian(generated, original),
  };

  const convert = await whichImageMagick('convert');
  if (convert) {
    // The same picture: both scaled to 768 high, an 8-pixel dark gap, a label on each, JPEG q90.
    const args = [
      files.generated, '-resize', 'x768',
      '(', files.display, '-auto-orient', '-background', 'white', '-alpha', 'remove', '-resize', 'x768', ')',
      '-background', '#1e1f22', '+smush', '8',
      '-font', 'DejaVu-Sans-Mono', '-pointsize', '28', '-fill', 'white', '-undercolor', '#18181b', '-gravity', 'SouthWest',
      '-annotate', '+8+8', 'KMPLZ - step 500', '-annotate', '+784+8', 'art: kimplz',
      '-quality', '90', files.result,
    ];
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await timed(() => exec(convert, args, { MAGICK_THREAD_LIMIT: '1' })));
    figures.compose_imagemagick_ms_median = round1(median(times));
  } else {
    figures.compose_note = 'ImageMagick (convert) not installed: its composite was skipped';
  }
  figures.compose_reference_note =
    'compose_ms_median: reference = a 768-px-high JPEG display copy; compose_original_reference_ms_median: ' +
    'reference = the 4032×3024 phone photo as uploaded; both JPEG q90 through encodeToFit (10 MiB limit)';
  return figures;
}
