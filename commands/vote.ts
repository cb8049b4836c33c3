import { UserError } from '../src/errors.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { requireGuildId } from '../src/interactions/permissions.js';
import { respond } from '../src/interactions/respond.js';
import { loadLastTraining } from '../src/training/records.js';
import { describeVote, recordVote } from '../src/voting/votes.js';
import { voteDefinition } from './definitions.js';
import { stepChoices } from './shared/step-choices.js';

/** `/vote checkpoint:<step>`: the same vote as the preview buttons, for the running or last training. */
export const vote: SlashCommand = {
  data: voteDefinition,
  defer: () => 'ephemeral',
  async execute(interaction, ctx) {
    const guildId = requireGuildId(interaction);
    const training = await loadLastTraining(ctx.store, guildId);
    if (!training) throw new UserError('no-training', 'There is nothing to vote on yet: no training has run on this server.');
    const step = interaction.options.getInteger('checkpoint', true);
    await respond(interaction, { content: describeVote(await recordVote(ctx, guildId, training.id, interaction.user.id, step)) });
  },
  autocomplete: stepChoices,
};
