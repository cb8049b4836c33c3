import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDiscordEmulator } from '../emulators/discord/index.js';
import { startReplicateEmulator } from '../emulators/replicate/index.js';
import { emulatorEnv } from '../support/bot.js';
import { startBotProcess } from '../support/bot-process.js';
import { drawing } from '../support/fixtures.js';
import { TEST_DESTINATION, zipBuffer } from '../support/replicate-training.js';
import { buttonOf, customIdsOf, freePort, isFinal, previewsIn } from '../training/e2e-helpers.js';


describe('/train across a SIGKILL of the bot', () => {
  it.concurrent.each([
    { strategy: 'ladder', transport: 'polling' },
    { strategy: 'streaming', transport: 'webhooks' },
  ] as const)(
    '$strategy with $transport: killed right after the first preview, restarted, it posts 500, 750 and 1000 each exactly once',
    async ({ strategy, transport }) => {
      const discord = await startDiscordEmulator();
      // Slow enough that the training is still running when the second bot comes up.
      const replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION], timeScale: 0.02 });
      const dataDir = await mkdtemp(path.join(tmpdir(), 'kmplz-restart-'));
      const port = await freePort();
      const env = {
        ...emulatorEnv({ discord, replicate }, dataDir),
        LOG_LEVEL: 'info',
        TRAINER_ROLE_ID: discord.guild().roles.find((r) => r.name === 'Trainer')!.id,
        ...(strategy === 'streaming' ? { REPLICATE_TRAINER: replicate.refs.streamingTrainer, REPLICATE_TRAINER_MODE: 'streaming' } : {}),
        ...(transport === 'webhooks' ? { PUBLIC_URL: `http://127.0.0.1:${port}`, HTTP_PORT: String(port) } : {}),
      };
      // A streaming run is a prediction of the streaming trainer; a ladder's rungs are trainings.
      const streamingVersion = replicate.refs.streamingTrainer.split(':')[1];
      const runs = () =>
        strategy === 'ladder' ? [...replicate.trainings.values()] : [...replicate.predictions.values()].filter((p) => p.version === streamingVersion);
      let bot = await startBotProcess(env);
      try {
        // The drawings come in through /train's own archive option, and are captioned from the confirmation.
        const archive = await zipBuffer({
          'hoodie-girl.png': await drawing(640, 640, '#3050e0'),
          'cat.png': await drawing(640, 640, '#e0a030'),
          'tree.png': await drawing(640, 640, '#30a050'),
        });
        const slash = await discord.slash({ name: 'train', user: discord.users.bob, options: { archive: { filename: 'drawings.zip', data: archive } } });
        const confirmation = await slash.waitForOriginal((m) => m.components.length > 0, 15_000);
        expect(confirmation.embeds[0]?.fields?.find((f) => f.name === 'drawings')?.value).toBe('3 (3 just added)');
        await (await discord.button({ customId: buttonOf(confirmation, 'train:caption:'), message: confirmation, user: discord.users.bob })).ack();
        const captioned = await discord.waitFor(() => {
          const message = discord.message(confirmation.id);
          return message && customIdsOf(message).length === 2 ? message : undefined;
        }, 15_000);
        const start = await discord.button({ customId: buttonOf(captioned, 'train:start:'), message: captioned, user: discord.users.bob });
        const threadId = /<#(\d+)>/.exec((await start.waitForOriginal((m) => /Training started/.test(m.content), 10_000)).content)![1]!;

        await discord.waitFor(() => previewsIn(discord, threadId).find((p) => p.step === 250), 20_000);
        await bot.kill('SIGKILL');
        const runsBefore = runs();
        expect(runsBefore.some((run) => run.status === 'processing' || run.status === 'starting')).toBe(true);

        bot = await startBotProcess(env);
        await discord.waitForMessage(threadId, isFinal, 30_000);

        const previews = previewsIn(discord, threadId);
        expect(previews.map((p) => p.step).sort((a, b) => a - b)).toEqual([250, 500, 750, 1000]);
        for (const { message } of previews) expect(message.attachments).toHaveLength(1);
        // The runs were taken up, not started again; one status message, one final message.
        expect(runs()).toHaveLength(strategy === 'ladder' ? 4 : 1);
        expect(discord.messagesIn(threadId)).toHaveLength(1 + 4 + 1);
        expect(bot.output()).toMatch(/took up unfinished trainings/);
        discord.assertNoSpecErrors();
        expect(replicate.specErrors).toEqual([]);
      } finally {
        await bot.kill('SIGKILL');
        await replicate.close();
        await discord.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
