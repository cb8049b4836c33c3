import { EmbedBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../src/context.js';
import { UserError } from '../src/errors.js';
import { localeOf, msg, t, type Locale } from '../src/i18n/index.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { respond } from '../src/interactions/respond.js';
import { loadLastTraining, type ActiveCheckpoint, type TrainingRecord } from '../src/training/records.js';
import { checkpointName, isHidden, labelOf, shownOrder } from '../src/voting/blind.js';
import { explainWinner, tallyVotes } from '../src/voting/tally.js';
import { loadDrawing } from '../src/voting/drawing.js';
import { pickCloses, votingPhase } from '../src/voting/window.js';
import { checkpointsDefinition } from './definitions.js';
import { stepChoices } from './shared/step-choices.js';
import { keys } from '../src/store/keys.js';

/** `/checkpoints [use:<step>]`: every checkpoint of the last training, its votes, and the one `/kmplz` uses. */
export const checkpoints: SlashCommand = {
  data: checkpointsDefinition,
  defer: (interaction) => (interaction.options.getInteger('use') === null ? 'public' : 'ephemeral'),
  // Everyone sees the checkpoints; `use:` overrides the class vote, which is a trainer's call.
  guards: (interaction) => (interaction.options.getInteger('use') === null ? ['guild'] : ['guild', 'trainer']),
  async execute(interaction, ctx, { guildId }) {
    const use = interaction.options.getInteger('use');
    if (use !== null) {
      await overrideVote(interaction, ctx, guildId, use);
      return;
    }
    const training = await loadLastTraining(ctx.store, guildId);
    const locale = localeOf(interaction);
    if (!training || training.checkpoints.length === 0) {
      // A training that failed before its first checkpoint may have had nowhere to say why (its thread never opened).
      const failed = training?.status === 'failed' && training.failure ? t(locale, 'checkpoints.failed', { failure: training.failure }) : undefined;
      await respond(interaction, { content: failed ?? t(locale, training?.status === 'running' ? 'checkpoints.running' : 'checkpoints.none') });
      return;
    }
    const drawing = await loadDrawing(ctx.store, guildId);
    await respond(interaction, { embeds: [describeCheckpoints(training, drawing?.kind === 'checkpoint' ? drawing.active : undefined, locale, ctx.config.HF_HUB_URL)] });
  },
  autocomplete: stepChoices,
};

async function overrideVote(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string, step: number): Promise<void> {
  const training = await loadLastTraining(ctx.store, guildId);
  const checkpoint = training?.checkpoints.find((c) => c.step === step);
  if (!training || !checkpoint) {
    const available = training?.checkpoints.map((c) => c.step).join(', ');
    throw new UserError('unknown-checkpoint', available ? msg('error.unknown-checkpoint.available', { step, available }) : msg('error.unknown-checkpoint.none'));
  }
  await ctx.store.update<TrainingRecord>(keys.training(guildId, training.id), (current) =>
    current ? { ...current, override: { step, by: interaction.user.id } } : current,
  );
  const active: ActiveCheckpoint = { trainingId: training.id, step, chosenBy: 'trainer' };
  await ctx.store.set(keys.activeCheckpoint(guildId), active);
  ctx.log.info({ trainingId: training.id, step }, 'trainer picked the checkpoint');
  // A blind vote, one with a deadline or one open after the end ends with the pick: steps revealed, result in the thread.
  if (pickCloses(training)) await ctx.training.closeVoting({ guildId, trainingId: training.id });
  // Every pick changes what retention keeps (the one in use and the last), a pick after the vote closed too.
  await ctx.archives.sync({ guildId, trainingId: training.id });
  const locale = localeOf(interaction);
  const lines = [t(locale, 'checkpoints.override', { step })];
  // Picked after its archive was let go and Replicate deleted its weights: /kmplz would fail on it.
  if (await ctx.archives.lost(training, step)) lines.push(t(locale, 'checkpoints.override.lost', { step }));
  await respond(interaction, { content: lines.join('\n') });
}

function describeCheckpoints(training: TrainingRecord, active: ActiveCheckpoint | undefined, locale: Locale, hubUrl: string): EmbedBuilder {
  const tally = tallyVotes({
    steps: training.checkpoints.map((c) => c.step),
    votes: training.votes,
    override: training.override?.step,
  });
  const hidden = isHidden(training);
  const lines = shownOrder(training, training.checkpoints.map((c) => c.step)).map((step) => {
    const checkpoint = training.checkpoints.find((c) => c.step === step)!;
    const votes = tally.counts.get(step) ?? 0;
    const inUse = active?.trainingId === training.id && active.step === step ? ` ${t(locale, 'checkpoints.in-use')}` : '';
    const preview = checkpoint.previewUrl ? ` · [${t(locale, 'checkpoints.preview')}](${checkpoint.previewUrl})` : '';
    const published = checkpoint.published ? ` · [${t(locale, 'checkpoints.published')}](${hubUrl}/${checkpoint.published.repo})` : '';
    const revealed = training.blind && !hidden ? ` (${labelOf(training, step)})` : '';
    return `**${checkpointName(training, step, locale)}**${revealed} — ${t(locale, 'common.votes', { count: votes })}${preview}${published}${inUse}`;
  });
  const pending = training.status === 'running' ? `\n\n${t(locale, 'checkpoints.still-running', { steps: training.steps })}` : '';
  // The thread cannot say it: Discord refused the bot's posts there, and only this reply can.
  const refused =
    training.discordRefusals?.gaveUpAt !== undefined
      ? `\n\n${t(locale, 'checkpoints.posts-refused', { where: `<#${training.threadId ?? training.channelId}>` })}`
      : '';
  const at = Math.round((training.votingClosesAt ?? 0) / 1000);
  const deadline =
    votingPhase(training) !== 'open'
      ? ''
      : `\n\n${hidden ? t(locale, 'checkpoints.closes.blind', { at }) : t(locale, 'checkpoints.closes', { at, step: tally.winner?.step ?? training.steps })}`;
  // While blind, the winner rule's words would name steps: the footer says how to vote instead.
  const footer = hidden ? t(locale, 'checkpoints.footer.blind') : t(locale, 'checkpoints.footer', { explanation: explainWinner(locale, tally.winner, tally.counts) });
  return new EmbedBuilder()
    .setTitle(t(locale, 'checkpoints.title'))
    .setDescription(`${lines.join('\n')}${pending}${refused}${deadline}`)
    .setFooter({ text: footer });
}
