/**
 * tqdm's default meter (`tqdm.format_meter`, unicode bar of 10 cells), reproduced so the logs the
 * emulated models write parse (or fail to parse) exactly like real Cog logs:
 * `# PTI :step: 249, epoch: 62:  25%|██▌       | 250/1000 [01:52<05:37,  2.22it/s]`.
 */
export function tqdmLine(n: number, total: number, elapsedSeconds: number, description?: string): string {
  // Past its total (cog-sdxl's whole epochs overrun `max_train_steps`), tqdm drops the total:
  // `format_meter` sets `total = None` once `n >= total + 0.5` and prints `256it [01:52,  2.22it/s]`.
  if (total > 0 && n >= total + 0.5) {
    const rate = elapsedSeconds > 0 ? n / elapsedSeconds : undefined;
    const rateText = rate === undefined ? '?it/s' : 1 / rate > 1 ? `${(1 / rate).toFixed(2).padStart(5)}s/it` : `${rate.toFixed(2).padStart(5)}it/s`;
    return `${description ? `${description}: ` : ''}${n}it [${formatInterval(elapsedSeconds)}, ${rateText}]`;
  }
  const fraction = total > 0 ? n / total : 0;
  const percentage = roundHalfEven(fraction * 100).toString().padStart(3);
  const rate = elapsedSeconds > 0 && n > 0 ? n / elapsedSeconds : undefined;
  const rateText =
    rate === undefined ? '?it/s' : 1 / rate > 1 ? `${(1 / rate).toFixed(2).padStart(5)}s/it` : `${rate.toFixed(2).padStart(5)}it/s`;
  const remaining = rate === undefined ? '?' : formatInterval((total - n) / rate);
  const prefix = description ? `${description}: ` : '';
  return `${prefix}${percentage}%|${bar(fraction)}| ${n}/${total} [${formatInterval(elapsedSeconds)}<${remaining}, ${rateText}]`;
}

const CELLS = 10;
// tqdm's UTF charset: a space, then 1/8 … 8/8 blocks.
const CHARSET = ' ▏▎▍▌▋▊▉█';

function bar(fraction: number): string {
  const eighths = CHARSET.length - 1;
  const units = Math.floor(Math.min(1, Math.max(0, fraction)) * CELLS * eighths);
  const full = Math.floor(units / eighths);
  if (full >= CELLS) return '█'.repeat(CELLS);
  return '█'.repeat(full) + CHARSET[units % eighths] + ' '.repeat(CELLS - full - 1);
}

function formatInterval(seconds: number): string {
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (v: number) => v.toString().padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/** Python's `format(x, '3.0f')` rounds half to even. */
function roundHalfEven(x: number): number {
  const rounded = Math.round(x);
  return Math.abs(x % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}
