import { UserError } from '../src/errors.js';
import { localeOf, msg } from '../src/i18n/index.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { respond } from '../src/interactions/respond.js';
import { loadLastTraining } from '../src/training/records.js';
import { isHidden } from '../src/voting/blind.js';
import { describeVote, recordVote } from '../src/voting/votes.js';
import { voteDefinition } from './definitions.js';
import { stepChoices } from './shared/step-choices.js';

/** `/vote checkpoint:<step>`: the same vote as the preview buttons, for the running or last training; refused while a blind vote runs. */
export const vote: SlashCommand = {
  data: voteDefinition,
  guards: ['guild'],
  defer: () => 'ephemeral',
  async execute(interaction, ctx, { guildId }) {
    const training = await loadLastTraining(ctx.store, guildId);
    if (!training) throw new UserError('no-training', msg('error.no-training'));
    // Blind: the letters are on the buttons only; a step typed here would be a vote on a number.
    if (isHidden(training)) {
      throw new UserError('blind-vote', training.threadId ? msg('error.blind-vote.thread', { thread: training.threadId }) : msg('error.blind-vote'));
    }
    const step = interaction.options.getInteger('checkpoint', true);
    await respond(interaction, { content: describeVote(await recordVote(ctx, guildId, training.id, interaction.user.id, step), localeOf(interaction)) });
  },
  autocomplete: stepChoices,
};
