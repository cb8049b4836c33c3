import type { Store } from './store.js';

/**
 * The bot-wide lists of references a restarted process walks (trainings to follow, voting
 * deadlines, unfinished jobs): each entry once, by id, and the key gone when the list empties,
 * so a quiet bot stores nothing for them. Updates are compare-and-swap (`store.update`), so
 * processes adding and removing at once lose no entry.
 */
export async function addRef<T>(store: Store, key: string, item: T, idOf: (item: T) => string): Promise<void> {
  const id = idOf(item);
  await store.update<T[]>(key, (items = []) => [...items.filter((entry) => idOf(entry) !== id), item]);
}

export async function removeRef<T>(store: Store, key: string, id: string, idOf: (item: T) => string): Promise<void> {
  await store.update<T[]>(key, (items = []) => {
    const rest = items.filter((entry) => idOf(entry) !== id);
    return rest.length ? rest : undefined;
  });
}

/** Removes every entry `doomed` selects (all of one server's, when it is forgotten); the key goes when the list empties. */
export async function removeRefsWhere<T>(store: Store, key: string, doomed: (item: T) => boolean): Promise<void> {
  await store.update<T[]>(key, (items) => {
    if (!Array.isArray(items)) return items;
    const rest = items.filter((entry) => !doomed(entry));
    return rest.length ? rest : undefined;
  });
}

export async function listRefs<T>(store: Store, key: string): Promise<T[]> {
  return (await store.get<T[]>(key)) ?? [];
}
