const FILLED = '▰';
const EMPTY = '▱';

/**
 * A text progress bar such as `▰▰▰▰▱▱▱▱`. The fraction is clamped to [0, 1] and NaN counts
 * as 0; cells fill only once wholly reached, so a full bar always means done.
 */
export function progressBar(fraction: number, width = 20): string {
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`width must be a positive integer, got ${width}`);
  const clamped = Number.isNaN(fraction) ? 0 : Math.min(1, Math.max(0, fraction));
  // The epsilon keeps float noise (0.29 × 100 = 28.999…) from losing a cell.
  const filled = Math.min(width, Math.floor(clamped * width + 1e-9));
  return FILLED.repeat(filled) + EMPTY.repeat(width - filled);
}

/** A Discord timestamp that each reader's client shows as relative time ("in 5 minutes"). */
export function discordRelativeTime(date: Date | number): string {
  const milliseconds = typeof date === 'number' ? date : date.getTime();
  if (!Number.isFinite(milliseconds)) throw new RangeError('discordRelativeTime needs a valid date');
  return `<t:${Math.floor(milliseconds / 1000)}:R>`;
}
