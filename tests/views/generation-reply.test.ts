import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { failureOf, type JobReplyState } from '../../src/generation/reply-state.js';
import { msg, t } from '../../src/i18n/index.js';
import { ServiceError } from '../../src/services/types.js';
import { jobIdOfButtons, renderJobReply } from '../../src/views/generation-reply.js';

const parameters = { prompt: 'KMPLZ, a heron', steps: 20, guidance: 7, strength: 0.8, width: 1024, height: 768, seed: 42, seedChosen: true, checkpoint: { trainingId: 't1', step: 500 } };
const customIds = (reply: ReturnType<typeof renderJobReply>) => reply.components.flatMap((row) => row.components.map((c) => (c.toJSON() as { custom_id: string }).custom_id));

describe('renderJobReply', () => {
  it('shows a waiting or drawing job with its cancel button, and the own-GPU wait only on Cog', () => {
    const queued = renderJobReply({ state: 'queued', jobId: 'j1', locale: 'en', position: 3 });
    expect(queued.content).toBe('⏳ You’re #3 in the queue.');
    expect(customIds(queued)).toEqual(['kmplz:cancel:j1']);
    expect(renderJobReply({ state: 'queued', jobId: 'j1', locale: 'en', position: 1, ownGpuServers: 2 }).content).toMatch(/^⏳ You’re next in the queue\. .*2 generator server/);
    expect(renderJobReply({ state: 'drawing', jobId: 'j1', locale: 'ru' }).content).toBe(`🎨 Рисую… ${'▱'.repeat(20)}`);
    const progress = renderJobReply({ state: 'drawing', jobId: 'j1', locale: 'en', progress: { step: 10, total: 20, finishesAt: 1_700_000_000_000 } });
    expect(progress.content).toBe(`🎨 Drawing… ${'▰'.repeat(10)}${'▱'.repeat(10)} 10/20 · ${t('en', 'common.done-at', { when: '<t:1700000000:R>' })}`);
    const cell = renderJobReply({ state: 'drawing-cell', jobId: 'j1', locale: 'en', index: 1, total: 3, axis: 'steps', value: 50 });
    expect(cell.content).toMatch(/^🎨 Drawing 2 of 3 \(.+ 50\)… ▰{6}▱{14}$/);
  });

  it('gives the answer its picture, parameters, reference credit, notes and result buttons', () => {
    const state: JobReplyState = {
      state: 'succeeded',
      jobId: 'j1',
      locale: 'en',
      parameters: { ...parameters, negativePrompt: 'blurry' },
      notes: ['✂️ cut'],
      reused: true,
      files: [
        { name: 'kmplz-j1-side-by-side.jpg', data: Buffer.from('a') },
        { name: 'kmplz-j1.png', data: Buffer.from('b') },
      ],
      referenceName: 'heron.png',
      triggerWord: 'KMPLZ',
    };
    const reply = renderJobReply(state);
    expect(reply.content).toBe(`✂️ cut\n${t('en', 'kmplz.note.reused')}`);
    const embed = reply.embeds![0]!.toJSON();
    expect(embed.image?.url).toBe('attachment://kmplz-j1-side-by-side.jpg');
    expect(embed.footer?.text).toBe(t('en', 'kmplz.footer', { trigger: 'KMPLZ', step: 500, reference: 'heron.png' }));
    expect(embed.fields?.map((f) => f.value)).toEqual(['20', '7', '0.8', '42', '1024×768', t('en', 'common.step', { step: 500 }), 'blurry']);
    expect(reply.files?.map((f) => f.name)).toEqual(['kmplz-j1-side-by-side.jpg', 'kmplz-j1.png']);
    expect(customIds(reply)).toEqual(['kmplz:again:j1', 'kmplz:showcase:j1', 'kmplz:params:j1', 'kmplz:delete:j1']);
    // `/showcase link:` finds the job again from the buttons alone; another command's buttons name none.
    expect(jobIdOfButtons([null, ...customIds(reply)])).toBe('j1');
    expect(jobIdOfButtons(['vote:pick:t1:500', undefined])).toBeUndefined();
    expect(reply.attachments).toEqual([]);
  });

  it.each([
    [new ServiceError('nsfw', 'NSFW content detected'), 'kmplz.failure.nsfw'],
    [new ServiceError('throttled', '429'), 'kmplz.failure.throttled'],
    [new ServiceError('canceled', 'canceled'), 'kmplz.canceled'],
    [new Error('boom'), 'kmplz.failure.internal'],
  ] as const)('words a failure by its reason code, in the asker’s language (%s)', (error, key) => {
    for (const locale of ['en', 'ru'] as const) {
      const reply = renderJobReply({ state: 'failed', locale, failure: failureOf(error) });
      expect(reply).toEqual({ content: t(locale, key), embeds: [], components: [], files: [] });
    }
  });

  it('shows a refusal and the service’s own words as they came, the latter cut to fit', () => {
    const refused = failureOf(new UserError('checkpoint-gone', msg('error.checkpoint-gone', { step: 500 })));
    expect(renderJobReply({ state: 'failed', locale: 'ru', failure: refused }).content).toBe(t('ru', 'error.checkpoint-gone', { step: 500 }));
    const long = renderJobReply({ state: 'failed', locale: 'en', failure: failureOf(new ServiceError('failed', 'x'.repeat(400))) }).content;
    expect(long).toBe(t('en', 'kmplz.failure.failed', { detail: `${'x'.repeat(299)}…` }));
    expect(renderJobReply({ state: 'failed', locale: 'en', failure: { code: 'lost' } }).content).toBe(t('en', 'kmplz.lost'));
    expect(renderJobReply({ state: 'canceled', locale: 'en', nothingSpent: true }).content).toBe(t('en', 'kmplz.canceled.nothing-spent'));
  });
});
