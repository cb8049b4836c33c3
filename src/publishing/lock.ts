import { keys } from '../store/keys.js';
import type { Store } from '../store/store.js';

/**
 * One `/publish` per server at a time: two at once would race to commit. The mark expires after
 * `ttlMs`, so a process that died mid-upload does not block the next one for long. True when
 * this publish holds it.
 */
export function claimPublishing(store: Store, guildId: string, holder: { by: string; at: number }, ttlMs: number): Promise<boolean> {
  return store.setIfAbsent(keys.publishing(guildId), holder, ttlMs);
}

export async function releasePublishing(store: Store, guildId: string): Promise<void> {
  await store.delete(keys.publishing(guildId));
}
