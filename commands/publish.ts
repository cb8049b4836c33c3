import { UserError } from '../src/errors.js';
import { localeOf, msg, t } from '../src/i18n/index.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { respond } from '../src/interactions/respond.js';
import { publishCheckpoint } from '../src/publishing/publish.js';
import { publishDefinition } from './definitions.js';
import { stepChoices } from './shared/step-choices.js';
import { claimPublishing, releasePublishing } from '../src/publishing/lock.js';

/** Longer than a slow upload of a few hundred MB. */
const PUBLISH_LOCK_MS = 20 * 60_000;

/**
 * `/publish [checkpoint] [repo] [private] [credit]`: a trainer puts the class's LoRA on the
 * Hugging Face Hub (src/publishing/publish.ts) and gets the repository's link.
 */
export const publish: SlashCommand = {
  data: publishDefinition,
  guards: ['guild', 'trainer'],
  defer: () => 'ephemeral',
  async execute(interaction, ctx, { guildId }) {
    // One publish per server at a time (src/publishing/lock.ts).
    if (!(await claimPublishing(ctx.store, guildId, { by: interaction.user.id, at: ctx.clock.now() }, PUBLISH_LOCK_MS))) {
      throw new UserError('publish-busy', msg('error.publish-busy'));
    }
    const outcome = await publishCheckpoint(
      { config: ctx.config, log: ctx.log, trainings: ctx.training.repository, jobs: ctx.generation.jobs, archives: ctx.archives, hub: ctx.services.hub },
      {
        guildId,
        serverName: interaction.guild?.name ?? guildId,
        step: interaction.options.getInteger('checkpoint') ?? undefined,
        repo: interaction.options.getString('repo')?.trim() || undefined,
        private: interaction.options.getBoolean('private') ?? undefined,
        credit: interaction.options.getString('credit')?.trim() || undefined,
      },
    ).finally(() => releasePublishing(ctx.store, guildId));
    const locale = localeOf(interaction);
    const lines = [
      outcome.committed
        ? t(locale, 'publish.done', { step: outcome.step, repo: outcome.repo, files: outcome.files, url: outcome.url })
        : t(locale, 'publish.unchanged', { step: outcome.step, repo: outcome.repo, url: outcome.url }),
    ];
    if (outcome.created) lines.unshift(t(locale, 'publish.created', { repo: outcome.repo }));
    await respond(interaction, { content: lines.join('\n') });
  },
  autocomplete: stepChoices,
};
