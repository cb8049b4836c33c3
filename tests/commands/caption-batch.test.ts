import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { caption } from '../../commands/caption.js';
import { parseConfig } from '../../src/config.js';
import type { BotContext } from '../../src/context.js';
import { addToDataset } from '../../src/dataset/dataset.js';
import type { ReplyContent } from '../../src/interactions/reply-target.js';
import type { ReplyTarget } from '../../src/reply-target.js';
import { createLogger } from '../../src/log.js';
import { openMemoryStore } from '../../src/store/store.js';
import { drawing } from '../support/fixtures.js';

const GUILD = '1100000000000000001';
const reply: ReplyTarget = { applicationId: 'app', interactionToken: 'token', tokenExpiresAt: Number.MAX_SAFE_INTEGER, channelId: 'c', userId: 'u' };
const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

/**
 * Runs the batch caption task over `count` uncaptioned drawings. Each caption takes `msPerCaption`
 * on the injected clock (and no real time): what the reply shows depends on that clock alone.
 */
async function batch(count: number, msPerCaption: number): Promise<string[]> {
  const folder = await mkdtemp(path.join(tmpdir(), 'kmplz-caption-batch-'));
  folders.push(folder);
  const config = parseConfig({ DISCORD_TOKEN: 't', DATA_DIR: folder });
  const store = openMemoryStore();
  const log = createLogger({ level: 'silent' });
  let now = 1_000_000;
  const files = await Promise.all(Array.from({ length: count }, async (_, i) => ({ name: `d${i}.png`, data: await drawing(300, 300, `#${String(i).repeat(6).slice(0, 6)}`) })));
  await addToDataset({ store, config, log }, GUILD, 'u', files);
  const shown: string[] = [];
  const ctx = {
    config,
    store,
    log,
    clock: { now: () => now },
    services: {
      captioner: {
        async caption() {
          now += msPerCaption;
          return { raw: 'a drawing of a square', gpuSeconds: 1 };
        },
      },
    },
    replier: {
      async edit(_target: ReplyTarget, content: ReplyContent) {
        shown.push(`edit ${content.content}`);
        return true;
      },
      async finish(_target: ReplyTarget, content: ReplyContent) {
        shown.push(`finish ${content.embeds?.length ? 'review' : content.content}`);
      },
    },
  } as unknown as BotContext;
  await caption.tasks!['caption-batch']!({ guildId: GUILD, reply, locale: 'en', uploadLimit: 8_000_000 }, { signal: new AbortController().signal, takenOver: false }, ctx);
  // A progress still held would go out when its window ends: none may come after the review.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return shown;
}

const withoutBars = (shown: string[]) => shown.map((line) => line.replace(/… \S+ /, '… '));

describe('a batch caption’s progress', () => {
  it('is throttled on the injected clock: when no time passes, one progress edit, then the review and nothing after it', async () => {
    expect(withoutBars(await batch(4, 0))).toEqual(['edit Captioning 4 drawings… 1/4', 'finish review']);
  });

  it('shows every step when each caption takes longer than the throttle, in order, and the review last', async () => {
    expect(withoutBars(await batch(4, 2000))).toEqual([
      'edit Captioning 4 drawings… 1/4',
      'edit Captioning 4 drawings… 2/4',
      'edit Captioning 4 drawings… 3/4',
      'edit Captioning 4 drawings… 4/4',
      'finish review',
    ]);
  });
});
