import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../src/store/store.js';
import { addRef, listRefs, removeRef, removeRefsWhere } from '../../src/store/ref-list.js';

interface Ref {
  guildId: string;
  id: string;
  note?: string;
}
const idOf = (ref: Ref) => `${ref.guildId}/${ref.id}`;

describe('ref lists', () => {
  it('keeps each entry once, the newest copy last, and forgets the key when the list empties', async () => {
    const store = openMemoryStore();
    await addRef(store, 'list', { guildId: 'g', id: '1' }, idOf);
    await addRef(store, 'list', { guildId: 'g', id: '2' }, idOf);
    await addRef(store, 'list', { guildId: 'g', id: '1', note: 'again' }, idOf);
    expect(await listRefs<Ref>(store, 'list')).toEqual([{ guildId: 'g', id: '2' }, { guildId: 'g', id: '1', note: 'again' }]);
    await removeRef(store, 'list', 'g/2', idOf);
    await removeRef(store, 'list', 'g/404', idOf);
    expect(await listRefs<Ref>(store, 'list')).toEqual([{ guildId: 'g', id: '1', note: 'again' }]);
    await removeRef(store, 'list', 'g/1', idOf);
    expect(await store.get('list')).toBeUndefined();
    expect(await listRefs<Ref>(store, 'list')).toEqual([]);
  });

  it('removes every entry of one server at once, and the key with the last one', async () => {
    const store = openMemoryStore();
    for (const ref of [{ guildId: 'a', id: '1' }, { guildId: 'b', id: '1' }, { guildId: 'a', id: '2' }]) await addRef(store, 'list', ref, idOf);
    await removeRefsWhere<Ref>(store, 'list', (ref) => ref.guildId === 'a');
    expect(await listRefs<Ref>(store, 'list')).toEqual([{ guildId: 'b', id: '1' }]);
    await removeRefsWhere<Ref>(store, 'list', (ref) => ref.guildId === 'b');
    expect(await store.get('list')).toBeUndefined();
    await removeRefsWhere<Ref>(store, 'absent', () => true);
    expect(await store.get('absent')).toBeUndefined();
  });

  it('loses no entry when many are added and removed at once', async () => {
    const store = openMemoryStore();
    await Promise.all(Array.from({ length: 40 }, (_, i) => addRef(store, 'list', { guildId: 'g', id: String(i) }, idOf)));
    await Promise.all(Array.from({ length: 20 }, (_, i) => removeRef(store, 'list', `g/${i * 2}`, idOf)));
    const left = (await listRefs<Ref>(store, 'list')).map((ref) => Number(ref.id)).sort((a, b) => a - b);
    expect(left).toEqual(Array.from({ length: 20 }, (_, i) => i * 2 + 1));
  });
});
