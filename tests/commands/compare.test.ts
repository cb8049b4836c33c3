import { describe, expect, it } from 'vitest';
import { parseValues } from '../../commands/compare.js';
import { UserError } from '../../src/errors.js';

describe('/compare values', () => {
  it.each([
    ['20,50,70', 'steps', [20, 50, 70]],
    [' 20 , 50 ,70 ', 'steps', [20, 50, 70]],
    ['20 50', 'steps', [20, 50]],
    ['70,20,70', 'steps', [70, 20]],
    ['3.5,7,12', 'guidance', [3.5, 7, 12]],
    ['250,500,750,1000', 'checkpoint', [250, 500, 750, 1000]],
  ] as const)('%s on %s → %j', (text, axis, values) => {
    expect(parseValues(text, axis)).toEqual(values);
  });

  it.each([
    ['20,500', 'steps', 'bad-values'],
    ['20,x', 'steps', 'bad-values'],
    ['20.5,30', 'steps', 'bad-values'],
    ['-1,7', 'guidance', 'bad-values'],
    ['25', 'steps', 'too-few-values'],
    ['20,20', 'steps', 'too-few-values'],
    ['1,2,3,4,5,6', 'steps', 'too-many-values'],
    ['250.5,500', 'checkpoint', 'bad-values'],
  ] as const)('%s on %s is refused (%s)', (text, axis, code) => {
    const error = (() => {
      try {
        parseValues(text, axis);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe(code);
  });
});
