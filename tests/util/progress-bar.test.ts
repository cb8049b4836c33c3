import { describe, expect, it } from 'vitest';
import { discordRelativeTime, progressBar } from '../../src/util/progress-bar.js';

describe('progressBar', () => {
  it.each([
    { fraction: 0, width: 8, bar: '▱▱▱▱▱▱▱▱' },
    { fraction: 0.5, width: 8, bar: '▰▰▰▰▱▱▱▱' },
    { fraction: 1, width: 8, bar: '▰▰▰▰▰▰▰▰' },
    // A cell fills only once reached: 99% is not a full bar.
    { fraction: 0.99, width: 10, bar: '▰▰▰▰▰▰▰▰▰▱' },
    { fraction: 0.29, width: 100, bar: '▰'.repeat(29) + '▱'.repeat(71) },
    { fraction: 0.3, width: 10, bar: '▰▰▰▱▱▱▱▱▱▱' },
    { fraction: -0.5, width: 4, bar: '▱▱▱▱' },
    { fraction: 7, width: 4, bar: '▰▰▰▰' },
    { fraction: Number.NaN, width: 4, bar: '▱▱▱▱' },
    { fraction: Number.POSITIVE_INFINITY, width: 4, bar: '▰▰▰▰' },
    { fraction: 0.25, width: 1, bar: '▱' },
  ])('$fraction over $width cells → $bar', ({ fraction, width, bar }) => {
    expect(progressBar(fraction, width)).toBe(bar);
  });

  it('is 20 cells wide by default', () => {
    expect(progressBar(0.25)).toBe('▰'.repeat(5) + '▱'.repeat(15));
  });

  it.each([0, -3, 2.5, Number.NaN])('refuses a width of %s', (width) => {
    expect(() => progressBar(0.5, width)).toThrow(RangeError);
  });
});

describe('discordRelativeTime', () => {
  it.each([
    { date: new Date('2025-01-01T00:00:00Z'), tag: '<t:1735689600:R>' },
    { date: new Date('2025-01-01T00:00:00.999Z'), tag: '<t:1735689600:R>' },
    { date: 1_735_689_601_500, tag: '<t:1735689601:R>' },
    { date: 0, tag: '<t:0:R>' },
  ])('$date → $tag', ({ date, tag }) => {
    expect(discordRelativeTime(date)).toBe(tag);
  });

  it.each([new Date('not a date'), Number.NaN])('refuses an invalid date: %s', (date) => {
    expect(() => discordRelativeTime(date)).toThrow(RangeError);
  });
});
