import type { Config } from '../src/config.js';
import { EmbedBuilder } from 'discord.js';
import { loadDataset } from '../src/dataset/dataset.js';
import { localeOf, t } from '../src/i18n/index.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { respond } from '../src/interactions/respond.js';
import { formatUsd, spentThisMonth } from '../src/money/budget.js';
import { loadLastTraining } from '../src/training/records.js';
import { loadDrawing } from '../src/voting/drawing.js';
import { helpDefinition } from './definitions.js';

/** `/help`: the workflow in order, and this server's place in it, so the next step is obvious. */
export const help: SlashCommand = {
  data: helpDefinition,
  guards: ['guild'],
  defer: () => 'ephemeral',
  async execute(interaction, ctx, { guildId }) {
    const [{ images }, training, active, spent] = await Promise.all([
      loadDataset(ctx.store, guildId),
      loadLastTraining(ctx.store, guildId),
      loadDrawing(ctx.store, guildId),
      spentThisMonth(ctx.store, ctx.clock, guildId),
    ]);
    const captioned = images.filter((image) => image.caption).length;
    const trigger = ctx.config.TRIGGER_WORD;
    const locale = localeOf(interaction);
    const gpu = { spent: formatUsd(spent.usd), seconds: Math.round(spent.gpuSeconds) };
    const state = [
      t(locale, 'help.server.drawings', { count: images.length, captioned }),
      training
        ? t(locale, 'help.server.training', { status: t(locale, `training.state.${training.status}`), count: training.checkpoints.length })
        : t(locale, 'help.server.untrained'),
      active?.kind === 'checkpoint' ? t(locale, 'help.server.active', { step: active.checkpoint.step }) : t(locale, 'help.server.waiting'),
      ctx.config.GPU_BACKEND === 'cog'
        ? t(locale, 'help.server.gpu.own', { seconds: gpu.seconds, servers: ownGpuServers(ctx.config) })
        : ctx.config.BUDGET_USD ? t(locale, 'help.server.gpu.budget', { ...gpu, budget: formatUsd(ctx.config.BUDGET_USD) }) : t(locale, 'help.server.gpu', gpu),
    ];
    const embed = new EmbedBuilder()
      .setTitle(t(locale, 'help.title'))
      .setDescription(
        [
          t(locale, 'help.step.dataset'),
          t(locale, 'help.step.caption', { trigger }),
          t(locale, 'help.step.train'),
          t(locale, 'help.step.vote'),
          t(locale, 'help.step.kmplz'),
          t(locale, 'help.step.showcase'),
        ].join('\n'),
      )
      .addFields({ name: t(locale, 'help.server'), value: state.join('\n') });
    await respond(interaction, { embeds: [embed] });
  },
};

/** Where the class's own GPU is, as configured (hosts only: paths and tokens stay out of Discord). */
function ownGpuServers(config: Config): string {
  const hosts = [...(config.COG_GENERATOR_URL ?? []), ...(config.COG_TRAINER_URL ?? []), ...(config.COG_CAPTIONER_URL ?? [])].map((url) => new URL(url).host);
  return [...new Set(hosts)].join(', ');
}
