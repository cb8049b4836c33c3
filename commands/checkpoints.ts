import { EmbedBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../src/context.js';
import { UserError } from '../src/errors.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { requireGuildId, requireTrainer } from '../src/interactions/permissions.js';
import { respond } from '../src/interactions/respond.js';
import { keys, loadActiveCheckpoint, loadLastTraining, type ActiveCheckpoint, type TrainingRecord } from '../src/training/records.js';
import { checkpointName, isHidden, labelOf, shownOrder } from '../src/voting/blind.js';
import { tallyVotes } from '../src/voting/tally.js';
import { checkpointsDefinition } from './definitions.js';
import { stepChoices } from './shared/step-choices.js';

/** `/checkpoints [use:<step>]`: every checkpoint of the last training, its votes, and the one `/kmplz` uses. */
export const checkpoints: SlashCommand = {
  data: checkpointsDefinition,
  defer: (interaction) => (interaction.options.getInteger('use') === null ? 'public' : 'ephemeral'),
  async execute(interaction, ctx) {
    const guildId = requireGuildId(interaction);
    const use = interaction.options.getInteger('use');
    if (use !== null) {
      await overrideVote(interaction, ctx, guildId, use);
      return;
    }
    const training = await loadLastTraining(ctx.store, guildId);
    if (!training || training.checkpoints.length === 0) {
      await respond(interaction, {
        content:
          training?.status === 'running'
            ? 'Training is running: the first checkpoint is not ready yet. Its preview will be posted in the training thread.'
            : 'No checkpoints yet: nothing has been trained on this server. Add drawings with `/dataset add`, caption them with `/caption`, then start `/train`.',
      });
      return;
    }
    const active = await loadActiveCheckpoint(ctx.store, guildId);
    await respond(interaction, { embeds: [describeCheckpoints(training, active?.active)] });
  },
  autocomplete: stepChoices,
};

async function overrideVote(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string, step: number): Promise<void> {
  requireTrainer(interaction, ctx.config);
  const training = await loadLastTraining(ctx.store, guildId);
  const checkpoint = training?.checkpoints.find((c) => c.step === step);
  if (!training || !checkpoint) {
    const available = training?.checkpoints.map((c) => c.step).join(', ');
    throw new UserError('unknown-checkpoint', available ? `There is no checkpoint at step ${step}. Available: ${available}.` : 'No checkpoints yet: nothing has been trained on this server.');
  }
  await ctx.store.update<TrainingRecord>(keys.training(guildId, training.id), (current) =>
    current ? { ...current, override: { step, by: interaction.user.id } } : current,
  );
  const active: ActiveCheckpoint = { trainingId: training.id, step, chosenBy: 'trainer' };
  await ctx.store.set(keys.activeCheckpoint(guildId), active);
  ctx.log.info({ trainingId: training.id, step }, 'trainer picked the checkpoint');
  // A blind vote or one with a deadline ends with the pick: steps revealed, result in the thread.
  if (training.votingClosedAt === undefined && (training.blind || training.voteMinutes)) await ctx.training.closeVoting({ guildId, trainingId: training.id });
  await respond(interaction, { content: `\`/kmplz\` now uses the checkpoint at step ${step}, picked by a trainer over the vote.` });
}

function describeCheckpoints(training: TrainingRecord, active: ActiveCheckpoint | undefined): EmbedBuilder {
  const tally = tallyVotes({
    steps: training.checkpoints.map((c) => c.step),
    votes: training.votes,
    override: training.override?.step,
  });
  const hidden = isHidden(training);
  const lines = shownOrder(training, training.checkpoints.map((c) => c.step)).map((step) => {
    const checkpoint = training.checkpoints.find((c) => c.step === step)!;
    const votes = tally.counts.get(step) ?? 0;
    const inUse = active?.trainingId === training.id && active.step === step ? ' ← `/kmplz` uses this' : '';
    const preview = checkpoint.previewUrl ? ` · [preview](${checkpoint.previewUrl})` : '';
    const revealed = training.blind && !hidden ? ` (${labelOf(training, step)})` : '';
    return `**${checkpointName(training, step)}**${revealed} — ${votes} vote${votes === 1 ? '' : 's'}${preview}${inUse}`;
  });
  const pending = training.status === 'running' ? `\n\nTraining is still running: ${training.steps} steps in all.` : '';
  const deadline = training.votingClosesAt !== undefined && training.votingClosedAt === undefined ? `\n\nVoting closes <t:${Math.round(training.votingClosesAt / 1000)}:R>.` : '';
  // While blind, the winner rule's words would name steps: the footer says how to vote instead.
  const footer = hidden ? 'blind vote: the steps are revealed when voting closes · vote with the buttons under the previews' : `${tally.explanation} · one vote per person: /vote checkpoint:<step>`;
  return new EmbedBuilder()
    .setTitle('Checkpoints of the last training')
    .setDescription(`${lines.join('\n')}${pending}${deadline}`)
    .setFooter({ text: footer });
}
