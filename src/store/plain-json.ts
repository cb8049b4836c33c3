/**
 * Stored values are plain JSON. keyv's serializer would otherwise change some values without a
 * word: a Date comes back as an ISO string, NaN and Infinity as null, a Map or Set as `{}`, a
 * class instance as a bare object without its methods. Refusing such values at write time turns
 * a silent corruption, found weeks later in a record, into an error at the line that wrote it.
 *
 * Allowed: null, booleans, finite numbers, strings, arrays of allowed values and objects whose
 * prototype is Object.prototype (or null) holding allowed values. A property whose value is
 * `undefined` is dropped, as JSON.stringify does: for optional fields that means "absent".
 */
export function assertPlainJson(value: unknown): void {
  check(value, '$', new Set());
}

function check(value: unknown, path: string, ancestors: Set<object>): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(path, `${value} has no JSON form`);
    return;
  }
  if (typeof value !== 'object') fail(path, `a ${typeof value} has no JSON form`);
  if (ancestors.has(value)) fail(path, 'the value contains itself');
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || value[i] === undefined) fail(`${path}[${i}]`, 'undefined (or a hole) would come back as null');
      check(value[i], `${path}[${i}]`, ancestors);
    }
  } else {
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      fail(path, `a ${name} is not plain JSON (store ${name === 'Date' ? 'date.getTime() or an ISO string' : 'a plain object'} instead)`);
    }
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) check(item, `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(value);
}

function fail(path: string, reason: string): never {
  throw new TypeError(`store values are plain JSON: ${path}: ${reason}`);
}
