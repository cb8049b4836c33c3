import { ApplicationCommandOptionType, type AutocompleteInteraction } from 'discord.js';
import type { BotContext } from '../../src/context.js';
import { localeOf, t } from '../../src/i18n/index.js';

/**
 * Autocomplete for options that name a checkpoint by its step: the steps of the last training.
 * Integer options get numbers; string options (`/kmplz checkpoint:`) get the step as text.
 */
export async function stepChoices(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const training = interaction.guildId ? await ctx.training.repository.last(interaction.guildId) : undefined;
  const focused = interaction.options.getFocused(true);
  // While the user types, Discord sends integer options as strings too.
  const typed = String(focused.value).replace(/^step\s*/i, '').trim();
  const asText = focused.type === ApplicationCommandOptionType.String;
  await interaction.respond(
    (training?.checkpoints ?? [])
      .filter((c) => String(c.step).startsWith(typed))
      .slice(0, 25)
      .map((c) => ({ name: t(localeOf(interaction), 'common.step', { step: c.step }), value: asText ? String(c.step) : c.step })),
  );
}
