import { randomBytes } from 'node:crypto';
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder } from 'discord.js';
import type { AddReport } from '../src/dataset/dataset.js';
import type { BotContext } from '../src/context.js';
import { UserError } from '../src/errors.js';
import { localeOf, msg, t, type Locale, type Message } from '../src/i18n/index.js';
import { customId, type ComponentInteraction, type SlashCommand } from '../src/interactions/command.js';
import { recordVote, describeVote } from '../src/voting/votes.js';
import { workChannelOf } from '../src/interactions/guards.js';
import { respond } from '../src/interactions/respond.js';
import { formatUsd, requireBudget, spentThisMonth } from '../src/money/budget.js';
import { captionMissing } from '../src/captioning/captions.js';
import { trainingItems } from '../src/training/dataset-export.js';
import { MAX_CHECKPOINTS, checkpointSteps, describeStrategy } from '../src/training/plan.js';
import type { TrainingDraft } from '../src/training/records.js';
import { describeCost, formatDuration } from '../src/views/training-status.js';
import { estimateFor, trainingPrices } from '../src/training/estimate.js';
import { runningAlready } from '../src/training/refusals.js';
import { usdPerSecond } from '../src/money/prices.js';
import { requireTriggerOutsideWords } from '../src/training/trigger-words.js';
import { checkpointName, isHidden, shownOrder } from '../src/voting/blind.js';
import { explainWinner, tallyVotes } from '../src/voting/tally.js';
import { DEFAULT_VOTE_MINUTES, votingPhase } from '../src/voting/window.js';
import { addAttachments } from './shared/dataset-add.js';
import { bounds, trainDefinition } from './definitions.js';
import { uploadLimitOf } from '../src/interactions/upload-limit.js';

/** A confirmation nobody answers is forgotten after an hour. */
const DRAFT_TTL_MS = 60 * 60_000;

/**
 * `/train [archive:] [steps:] [checkpoint_every:] [blind:] [vote_minutes:]`: shows what the training will be and cost,
 * and starts it on Start. The training itself — runs, previews, votes, the end — is followed by
 * the training supervisor (src/training/supervisor.ts and the parts it ties), in a thread of this channel.
 */
export const train: SlashCommand = {
  data: trainDefinition,
  // Before anything is added, planned or paid: a training the bot cannot post is no training.
  guards: ['guild', 'trainer', { bot: 'training' }],
  defer: () => 'ephemeral',
  async execute(interaction, ctx, { guildId }) {
    await requireTrainingConfigured(ctx);
    const steps = interaction.options.getInteger('steps') ?? bounds.trainSteps.default;
    const every = interaction.options.getInteger('checkpoint_every') ?? bounds.checkpointEvery.default;
    const blind = interaction.options.getBoolean('blind') ?? false;
    const voteMinutes = interaction.options.getInteger('vote_minutes');
    const locale = localeOf(interaction);
    checkOptions(steps, every, voteMinutes, locale);
    // The channel the { bot: 'training' } guard checked: from inside a thread, its parent.
    const channelId = workChannelOf(interaction, 'training');
    await refuseWhileRunning(ctx, guildId);
    const archive = interaction.options.getAttachment('archive');
    const added = archive ? await addAttachments(ctx, guildId, interaction.user.id, { archive }) : undefined;
    const draft: TrainingDraft = {
      id: randomBytes(6).toString('base64url'),
      guildId,
      channelId,
      startedBy: interaction.user.id,
      steps,
      checkpointEvery: every,
      uploadLimit: uploadLimitOf(interaction),
      createdAt: ctx.clock.now(),
      ...(blind ? { blind } : {}),
      ...(voteMinutes === null ? {} : { voteMinutes }),
      locale,
    };
    const view = await confirmation(ctx, draft, added);
    await ctx.training.repository.saveDraft(draft, DRAFT_TTL_MS);
    await respond(interaction, view);
  },
  components: {
    start: {
      // Checked again: the channel's permissions may have changed since the confirmation (the dataset and the month's spending below).
      guards: ['guild', 'trainer', { bot: 'training' }],
      defer: 'update',
      async execute(interaction, [trainingId], ctx, { guildId }) {
        const draft = await loadDraft(ctx, guildId, trainingId);
        const items = await trainingItems(ctx.store, ctx.config, guildId);
        // Again: a caption may have been edited since the confirmation.
        requireTriggerOutsideWords(items.map((item) => ({ name: item.image.name, caption: item.caption })), ctx.config.TRIGGER_WORD);
        await requireBudget(ctx.store, ctx.config, ctx.clock, guildId, estimateFor(ctx.services.trainer, ctx.config, items, draft.steps, draft.checkpointEvery).usd);
        const training = await ctx.training.begin(draft);
        const locale = localeOf(interaction);
        await interaction.editReply({
          content: training.threadId ? t(locale, 'train.started.thread', { thread: training.threadId }) : t(locale, 'train.started'),
          embeds: [],
          components: [],
        });
      },
    },
    discard: {
      guards: ['guild', 'trainer'],
      defer: 'update',
      async execute(interaction, [trainingId], ctx, { guildId }) {
        if (trainingId) await ctx.training.repository.deleteDraft(guildId, trainingId);
        await interaction.editReply({ content: t(localeOf(interaction), 'train.discarded'), embeds: [], components: [] });
      },
    },
    caption: {
      guards: ['guild', 'trainer'],
      defer: 'update',
      async execute(interaction, [trainingId], ctx, { guildId }) {
        const draft = await loadDraft(ctx, guildId, trainingId);
        await ctx.services.models.require('captioning');
        const locale = localeOf(interaction);
        await interaction.editReply({ content: t(locale, 'train.captioning'), embeds: [], components: [] });
        const result = await captionMissing({ ...ctx, captioner: ctx.services.captioner }, guildId);
        const note = result.failed.length ? t(locale, 'train.caption-failed', { trigger: ctx.config.TRIGGER_WORD, names: result.failed.join(', ') }) : undefined;
        await interaction.editReply(await confirmation(ctx, draft, undefined, note));
      },
    },
    vote: {
      guards: ['guild'],
      defer: 'ephemeral',
      async execute(interaction, [trainingId, stepText], ctx, { guildId }) {
        const vote = await recordVote(ctx, guildId, trainingId ?? '', interaction.user.id, Number(stepText));
        await respond(interaction, { content: describeVote(vote, localeOf(interaction)) }, { ephemeral: true });
      },
    },
    stop: {
      guards: ['guild', 'trainer'],
      defer: 'public',
      async execute(interaction, [trainingId, stepText], ctx, { guildId }) {
        const step = Number(stepText);
        const { savedGpuSeconds, canceledSteps } = await ctx.training.stopAfter(guildId, trainingId ?? '', step, interaction.user.id);
        const locale = localeOf(interaction);
        await respond(interaction, {
          content: t(locale, 'train.stopped', {
            user: interaction.user.id,
            step,
            steps: canceledSteps.join(` ${t(locale, 'common.and')} `),
            count: canceledSteps.length,
            cost: describeCost(savedGpuSeconds, usdPerSecond(ctx.config, 'training'), locale),
          }),
        });
      },
    },
    cancel: {
      guards: ['guild', 'trainer'],
      defer: 'ephemeral',
      async execute(interaction, [trainingId], ctx, { guildId }) {
        const { savedGpuSeconds } = await ctx.training.cancel(guildId, trainingId ?? '', interaction.user.id);
        const locale = localeOf(interaction);
        await respond(interaction, { content: t(locale, 'train.canceled', { cost: describeCost(savedGpuSeconds, usdPerSecond(ctx.config, 'training'), locale) }) }, { ephemeral: true });
      },
    },
    close: {
      guards: ['guild', 'trainer'],
      defer: 'ephemeral',
      async execute(interaction, [trainingId], ctx, { guildId }) {
        const training = trainingId ? await ctx.training.repository.load({ guildId, trainingId }) : undefined;
        if (!training) throw new UserError('unknown-training', msg('error.unknown-training'));
        const phase = votingPhase(training);
        if (phase === 'training') throw new UserError('voting-still-training', msg('error.voting-still-training'));
        if (phase === 'closed') throw new UserError('voting-closed', msg('error.voting-closed', { at: Math.round((training.votingClosedAt ?? training.finishedAt ?? training.createdAt) / 1000) }));
        // Two trainers at once close it once: closeVoting marks and announces exactly once.
        await ctx.training.closeVoting({ guildId, trainingId: training.id });
        await respond(interaction, { content: t(localeOf(interaction), 'train.voting-closed') }, { ephemeral: true });
      },
    },
    votes: {
      guards: ['guild'],
      defer: 'ephemeral',
      async execute(interaction, [trainingId], ctx, { guildId }) {
        await showVotes(interaction, ctx, guildId, trainingId ?? '');
      },
    },
  },
};

async function requireTrainingConfigured(ctx: BotContext): Promise<void> {
  // On the class's own GPU (GPU_BACKEND=cog) nothing is trained into a Replicate model.
  if (ctx.config.GPU_BACKEND !== 'cog' && !ctx.config.REPLICATE_API_TOKEN) throw new UserError('replicate-not-configured', msg('error.replicate-not-configured.training'));
  // A streaming run is a prediction: only the ladder's trainings make versions in a destination.
  if (ctx.config.GPU_BACKEND !== 'cog' && ctx.config.REPLICATE_TRAINER_MODE === 'ladder' && !ctx.config.REPLICATE_TRAINING_DESTINATION) {
    throw new UserError('training-not-configured', msg('error.training-not-configured'));
  }
  await ctx.services.models.require('training');
}

/** Discord enforces the ranges in its UI; a raw payload can hold anything, so they are checked again. */
function checkOptions(steps: number, every: number, voteMinutes: number | null, locale: Locale): void {
  const problems: Message[] = [];
  const outOfRange = (field: 'vote_minutes' | 'steps' | 'checkpoint_every', { min, max }: { min: number; max: number }) =>
    problems.push(msg('option.out-of-range', { field: t(locale, `field.${field}`), min, max }));
  if (voteMinutes !== null && (!Number.isInteger(voteMinutes) || voteMinutes < bounds.voteMinutes.min || voteMinutes > bounds.voteMinutes.max)) outOfRange('vote_minutes', bounds.voteMinutes);
  if (!Number.isInteger(steps) || steps < bounds.trainSteps.min || steps > bounds.trainSteps.max) outOfRange('steps', bounds.trainSteps);
  if (!Number.isInteger(every) || every < bounds.checkpointEvery.min || every > bounds.checkpointEvery.max) outOfRange('checkpoint_every', bounds.checkpointEvery);
  if (problems.length === 0 && every > steps) problems.push(msg('error.bad-options.every-over-steps', { every, steps }));
  if (problems.length === 0 && checkpointSteps(steps, every).length > MAX_CHECKPOINTS) {
    problems.push(msg('error.bad-options.too-many-checkpoints', { steps, every, count: checkpointSteps(steps, every).length, max: MAX_CHECKPOINTS }));
  }
  if (problems.length) throw new UserError('bad-options', problems);
}

async function refuseWhileRunning(ctx: BotContext, guildId: string): Promise<void> {
  const running = await ctx.training.repository.running(guildId);
  if (running) throw runningAlready(running);
}

async function loadDraft(ctx: BotContext, guildId: string, trainingId: string | undefined): Promise<TrainingDraft> {
  const draft = trainingId ? await ctx.training.repository.draft(guildId, trainingId) : undefined;
  if (draft) return draft;
  const started = trainingId ? await ctx.training.repository.load({ guildId, trainingId }) : undefined;
  if (started) throw new UserError('already-started', started.threadId ? msg('error.already-started.thread', { thread: started.threadId }) : msg('error.already-started'));
  throw new UserError('draft-expired', msg('error.draft-expired'));
}

/** What will be trained and what it costs, with Start / Cancel (and an offer to caption first). */
async function confirmation(ctx: BotContext, draft: TrainingDraft, added?: AddReport, note?: string) {
  const { config, store, clock, services } = ctx;
  const locale = draft.locale ?? 'en';
  const items = await trainingItems(store, config, draft.guildId);
  if (items.length === 0) throw new UserError('empty-dataset', msg('error.empty-dataset.train'));
  requireTriggerOutsideWords(items.map((item) => ({ name: item.image.name, caption: item.caption })), config.TRIGGER_WORD);
  const missing = items.filter((item) => !item.image.caption).length;
  const runs = services.trainer.plan(draft.steps, draft.checkpointEvery);
  const estimate = estimateFor(services.trainer, config, items, draft.steps, draft.checkpointEvery);
  await requireBudget(store, config, clock, draft.guildId, estimate.usd);
  const prices = trainingPrices(config);
  const steps = checkpointSteps(draft.steps, draft.checkpointEvery);
  const drawings = !added
    ? String(items.length)
    : t(locale, added.refused.length ? 'train.confirm.drawings.added-refused' : 'train.confirm.drawings.added', { count: items.length, added: added.added.length, refused: added.refused.length });
  const embed = new EmbedBuilder()
    .setTitle(t(locale, 'train.confirm.title', { trigger: config.TRIGGER_WORD, steps: draft.steps }))
    .setDescription(t(locale, 'train.confirm.description'))
    .addFields(
      { name: t(locale, 'train.confirm.drawings'), value: drawings, inline: true },
      {
        name: t(locale, 'train.confirm.captions-missing'),
        value: missing === 0 ? t(locale, 'common.none') : t(locale, 'train.confirm.captions-missing.value', { count: missing, trigger: config.TRIGGER_WORD }),
        inline: true,
      },
      { name: t(locale, 'train.confirm.checkpoints'), value: t(locale, 'train.confirm.checkpoints.value', { steps: steps.join(', ') }) },
      { name: t(locale, 'train.confirm.vote'), value: describeVoting(draft, locale) },
      {
        name: t(locale, 'train.confirm.cost'),
        value: t(locale, 'train.confirm.cost.value', {
          cost: t(locale, 'cost.gpu', { duration: formatDuration(estimate.gpuSeconds, locale), usd: formatUsd(estimate.usd) }),
          training: formatUsd(estimate.trainingGpuSeconds * prices.training),
          previews: formatUsd(estimate.previewGpuSeconds * prices.preview),
          wall: formatDuration(estimate.wallSeconds, locale),
        }),
      },
      { name: t(locale, 'train.confirm.strategy'), value: describeStrategy(services.trainer.strategy, runs, items.length, locale) },
    );
  if (config.BUDGET_USD !== undefined) {
    const spent = formatUsd((await spentThisMonth(store, clock, draft.guildId)).usd);
    embed.addFields({ name: t(locale, 'train.confirm.budget'), value: t(locale, 'train.confirm.budget.value', { spent, budget: formatUsd(config.BUDGET_USD) }) });
  }
  const buttons = [
    new ButtonBuilder().setCustomId(customId('train', 'start', draft.id)).setLabel(t(locale, 'train.button.start')).setStyle(ButtonStyle.Success),
    new ButtonBuilder().setCustomId(customId('train', 'discard', draft.id)).setLabel(t(locale, 'common.cancel')).setStyle(ButtonStyle.Secondary),
  ];
  if (missing > 0) {
    buttons.push(new ButtonBuilder().setCustomId(customId('train', 'caption', draft.id)).setLabel(t(locale, 'train.button.caption', { count: missing })).setStyle(ButtonStyle.Primary));
  }
  return { content: note ?? '', embeds: [embed], components: [new ActionRowBuilder<ButtonBuilder>().addComponents(buttons)] };
}

async function showVotes(interaction: ComponentInteraction, ctx: BotContext, guildId: string, trainingId: string): Promise<void> {
  const training = await ctx.training.repository.load({ guildId, trainingId });
  if (!training) throw new UserError('unknown-training', msg('error.unknown-training'));
  const locale = localeOf(interaction);
  if (training.checkpoints.length === 0) {
    await respond(interaction, { content: t(locale, 'train.votes.none') }, { ephemeral: true });
    return;
  }
  const summary = tallyVotes({ votes: training.votes, steps: training.checkpoints.map((c) => c.step), override: training.override?.step });
  const lines = shownOrder(training, [...summary.counts.keys()]).map((step) => {
    const count = summary.counts.get(step) ?? 0;
    return `**${checkpointName(training, step, locale)}** — ${t(locale, 'common.votes', { count })}`;
  });
  // The winner rule's words name steps: while blind, they wait for the reveal.
  const rule = isHidden(training) ? t(locale, 'train.votes.blind') : explainWinner(locale, summary.winner, summary.counts);
  await respond(interaction, { content: `${lines.join('\n')}\n${rule}` }, { ephemeral: true });
}

function describeVoting({ blind, voteMinutes }: TrainingDraft, locale: Locale): string {
  const how = t(locale, blind ? 'train.confirm.vote.blind' : 'train.confirm.vote.open');
  const until = voteMinutes ? t(locale, 'train.confirm.vote.minutes', { minutes: voteMinutes }) : t(locale, 'train.confirm.vote.default', { hours: DEFAULT_VOTE_MINUTES / 60 });
  const draws = t(locale, blind ? 'train.confirm.vote.draws.blind' : 'train.confirm.vote.draws');
  return `${how}; ${until}; ${draws}`;
}
