import { describe, expect, it } from 'vitest';
import { blindLabels, checkpointName, describeReveal, isHidden, shownOrder } from '../../src/voting/blind.js';

describe('blind labels', () => {
  it('deals A, B, C… over the steps in a shuffled order', () => {
    // pick(n) = 0 swaps each position with the first: 250/500/750 become 500, 750, 250.
    const labels = blindLabels([250, 500, 750], () => 0);
    expect(labels).toEqual({ '500': 'A', '750': 'B', '250': 'C' });
    expect(Object.values(blindLabels([1, 2, 3, 4, 5])).sort()).toEqual(['A', 'B', 'C', 'D', 'E']);
  });

  it('hides steps until voting closes, then names them and tells the mapping', () => {
    const blind = { '250': 'B', '500': 'A' };
    expect(isHidden({ blind })).toBe(true);
    expect(checkpointName({ blind }, 250)).toBe('checkpoint B');
    expect(shownOrder({ blind }, [250, 500])).toEqual([500, 250]);
    const closed = { blind, votingClosedAt: 1 };
    expect(isHidden(closed)).toBe(false);
    expect(checkpointName(closed, 250)).toBe('step 250');
    expect(shownOrder(closed, [500, 250])).toEqual([250, 500]);
    expect(describeReveal(closed, [250, 500])).toBe('**A** = step 500 · **B** = step 250');
    expect(isHidden({})).toBe(false);
  });
});
