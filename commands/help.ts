import { EmbedBuilder } from 'discord.js';
import { loadDataset } from '../src/dataset/dataset.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { requireGuildId } from '../src/interactions/permissions.js';
import { respond } from '../src/interactions/respond.js';
import { formatUsd, spentThisMonth } from '../src/money/budget.js';
import { loadActiveCheckpoint, loadLastTraining } from '../src/training/records.js';
import { helpDefinition } from './definitions.js';

/** `/help`: the workflow in order, and this server's place in it, so the next step is obvious. */
export const help: SlashCommand = {
  data: helpDefinition,
  defer: () => 'ephemeral',
  async execute(interaction, ctx) {
    const guildId = requireGuildId(interaction);
    const [{ images }, training, active, spent] = await Promise.all([
      loadDataset(ctx.store, guildId),
      loadLastTraining(ctx.store, guildId),
      loadActiveCheckpoint(ctx.store, guildId),
      spentThisMonth(ctx.store, ctx.clock, guildId),
    ]);
    const captioned = images.filter((image) => image.caption).length;
    const trigger = ctx.config.TRIGGER_WORD;
    const state = [
      `**${images.length}** drawings in the dataset, **${captioned}** captioned`,
      training ? `last training: **${training.status}**, ${training.checkpoints.length} checkpoint${training.checkpoints.length === 1 ? '' : 's'}` : 'nothing trained yet',
      active ? `\`/kmplz\` draws with **step ${active.checkpoint.step}**` : '`/kmplz` is waiting for a trained checkpoint',
      `GPU this month: ${formatUsd(spent.usd)}${ctx.config.BUDGET_USD ? ` of ${formatUsd(ctx.config.BUDGET_USD)}` : ''} (${Math.round(spent.gpuSeconds)} s)`,
    ];
    const embed = new EmbedBuilder()
      .setTitle('kmplz — teach an image model one artist’s style, then play with it together')
      .setDescription(
        [
          `1. \`/dataset add\` — the artist’s drawings in (a .zip or single images); they are cropped to training squares.`,
          `2. \`/caption\` — BLIP describes each drawing as \`${trigger}, a drawing of …\`; fix any caption with Edit.`,
          '3. `/train` — training on the GPU service, with a preview of every checkpoint in a thread.',
          '4. vote — the buttons under the previews, or `/vote`; `/checkpoints` shows the standings.',
          `5. \`/kmplz prompt:…\` — pictures in the style, next to the artist’s drawing; \`/compare\` for side-by-side settings.`,
          '6. ⭐ or `/showcase` — the best results to the class showcase.',
        ].join('\n'),
      )
      .addFields({ name: 'this server', value: state.join('\n') });
    await respond(interaction, { embeds: [embed] });
  },
};
