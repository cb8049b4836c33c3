import { randomBytes } from 'node:crypto';
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder } from 'discord.js';
import type { AddReport } from '../src/dataset/dataset.js';
import type { BotContext } from '../src/context.js';
import { UserError } from '../src/errors.js';
import { customId, type ComponentInteraction, type SlashCommand } from '../src/interactions/command.js';
import { requireGuildId, requireTrainer } from '../src/interactions/permissions.js';
import { recordVote, describeVote } from '../src/voting/votes.js';
import { respond } from '../src/interactions/respond.js';
import { formatUsd, requireBudget, spentThisMonth } from '../src/money/budget.js';
import { captionMissing } from '../src/captioning/captions.js';
import { trainingItems } from '../src/training/dataset-export.js';
import { MAX_CHECKPOINTS, checkpointSteps, describeStrategy } from '../src/training/plan.js';
import { keys, type TrainingDraft, type TrainingRecord } from '../src/training/records.js';
import { describeCost, formatDuration } from '../src/training/status.js';
import { estimateFor } from '../src/training/supervisor.js';
import { checkpointName, isHidden, shownOrder } from '../src/voting/blind.js';
import { tallyVotes } from '../src/voting/tally.js';
import { addAttachments } from './dataset.js';
import { bounds, trainDefinition } from './definitions.js';
import { uploadLimitOf } from '../src/interactions/upload-limit.js';

/** A confirmation nobody answers is forgotten after an hour. */
const DRAFT_TTL_MS = 60 * 60_000;

/**
 * `/train [archive:] [steps:] [checkpoint_every:] [blind:] [vote_minutes:]`: shows what the training will be and cost,
 * and starts it on Start. The training itself — runs, previews, votes, the end — is followed by
 * the training supervisor (src/training/supervisor.ts), in a thread of this channel.
 */
export const train: SlashCommand = {
  data: trainDefinition,
  defer: () => 'ephemeral',
  async execute(interaction, ctx) {
    const guildId = requireGuildId(interaction);
    requireTrainer(interaction, ctx.config);
    requireTrainingConfigured(ctx);
    const steps = interaction.options.getInteger('steps') ?? bounds.trainSteps.default;
    const every = interaction.options.getInteger('checkpoint_every') ?? bounds.checkpointEvery.default;
    const blind = interaction.options.getBoolean('blind') ?? false;
    const voteMinutes = interaction.options.getInteger('vote_minutes');
    checkOptions(steps, every, voteMinutes);
    await refuseWhileRunning(ctx, guildId);
    const archive = interaction.options.getAttachment('archive');
    const added = archive ? await addAttachments(ctx, guildId, interaction.user.id, archive, null) : undefined;
    const channel = interaction.channel;
    const draft: TrainingDraft = {
      id: randomBytes(6).toString('base64url'),
      guildId,
      // A thread cannot hold a thread: from inside one, the training's thread goes in its channel.
      channelId: channel?.isThread() && channel.parentId ? channel.parentId : interaction.channelId,
      startedBy: interaction.user.id,
      steps,
      checkpointEvery: every,
      uploadLimit: uploadLimitOf(interaction),
      createdAt: ctx.clock.now(),
      ...(blind ? { blind } : {}),
      ...(voteMinutes === null ? {} : { voteMinutes }),
    };
    const view = await confirmation(ctx, draft, added);
    await ctx.store.set(keys.draft(guildId, draft.id), draft, DRAFT_TTL_MS);
    await respond(interaction, view);
  },
  components: {
    start: {
      defer: 'update',
      async execute(interaction, [trainingId], ctx) {
        const guildId = requireGuildId(interaction);
        requireTrainer(interaction, ctx.config);
        const draft = await loadDraft(ctx, guildId, trainingId);
        // Checked again: the dataset or the month's spending may have changed since the confirmation.
        const items = await trainingItems(ctx.store, ctx.config, guildId);
        await requireBudget(ctx.store, ctx.config, ctx.clock, guildId, estimateFor(ctx.services.trainer, ctx.config, items, draft.steps, draft.checkpointEvery).usd);
        const training = await ctx.training.begin(draft);
        await interaction.editReply({
          content: `Training started${training.threadId ? `: follow it in <#${training.threadId}>` : ''}. A preview of every checkpoint will be posted there to vote on.`,
          embeds: [],
          components: [],
        });
      },
    },
    discard: {
      defer: 'update',
      async execute(interaction, [trainingId], ctx) {
        const guildId = requireGuildId(interaction);
        requireTrainer(interaction, ctx.config);
        if (trainingId) await ctx.store.delete(keys.draft(guildId, trainingId));
        await interaction.editReply({ content: 'Nothing was started, nothing was spent.', embeds: [], components: [] });
      },
    },
    caption: {
      defer: 'update',
      async execute(interaction, [trainingId], ctx) {
        const guildId = requireGuildId(interaction);
        requireTrainer(interaction, ctx.config);
        const draft = await loadDraft(ctx, guildId, trainingId);
        await interaction.editReply({ content: '✍️ Captioning the drawings that have no caption…', embeds: [], components: [] });
        const result = await captionMissing({ ...ctx, captioner: ctx.services.captioner }, guildId);
        const note = result.failed.length ? `These could not be captioned and will train as “${ctx.config.TRIGGER_WORD}, a drawing”: ${result.failed.join(', ')}.` : undefined;
        await interaction.editReply(await confirmation(ctx, draft, undefined, note));
      },
    },
    vote: {
      defer: 'ephemeral',
      async execute(interaction, [trainingId, stepText], ctx) {
        const vote = await recordVote(ctx, requireGuildId(interaction), trainingId ?? '', interaction.user.id, Number(stepText));
        await respond(interaction, { content: describeVote(vote) }, { ephemeral: true });
      },
    },
    stop: {
      defer: 'public',
      async execute(interaction, [trainingId, stepText], ctx) {
        const guildId = requireGuildId(interaction);
        requireTrainer(interaction, ctx.config);
        const step = Number(stepText);
        const { savedGpuSeconds, canceledSteps } = await ctx.training.stopAfter(guildId, trainingId ?? '', step, interaction.user.id);
        await respond(interaction, {
          content: `🛑 <@${interaction.user.id}> stopped the training after step ${step}: canceled the ${canceledSteps.join(' and ')}-step run${canceledSteps.length === 1 ? '' : 's'}, which saves about ${describeCost(savedGpuSeconds, ctx.config.GPU_PRICE_PER_SECOND)}. The checkpoints made so far stay up for the vote.`,
        });
      },
    },
    cancel: {
      defer: 'ephemeral',
      async execute(interaction, [trainingId], ctx) {
        const guildId = requireGuildId(interaction);
        requireTrainer(interaction, ctx.config);
        const { savedGpuSeconds } = await ctx.training.cancel(guildId, trainingId ?? '', interaction.user.id);
        await respond(interaction, { content: `Canceled: every run is being stopped, which saves about ${describeCost(savedGpuSeconds, ctx.config.GPU_PRICE_PER_SECOND)}. The thread will say when it has.` }, { ephemeral: true });
      },
    },
    votes: {
      defer: 'ephemeral',
      async execute(interaction, [trainingId], ctx) {
        await showVotes(interaction, ctx, requireGuildId(interaction), trainingId ?? '');
      },
    },
  },
};

function requireTrainingConfigured(ctx: BotContext): void {
  if (!ctx.config.REPLICATE_API_TOKEN) throw new UserError('replicate-not-configured', 'Training needs the GPU service, and this bot has no REPLICATE_API_TOKEN set. Ask the bot’s admin.');
  if (!ctx.config.REPLICATE_TRAINING_DESTINATION) {
    throw new UserError('training-not-configured', 'Training needs REPLICATE_TRAINING_DESTINATION (the Replicate model that receives the trained style). Ask the bot’s admin to set it.');
  }
}

/** Discord enforces the ranges in its UI; a raw payload can hold anything, so they are checked again. */
function checkOptions(steps: number, every: number, voteMinutes: number | null): void {
  const problems: string[] = [];
  if (voteMinutes !== null && (!Number.isInteger(voteMinutes) || voteMinutes < bounds.voteMinutes.min || voteMinutes > bounds.voteMinutes.max)) {
    problems.push(`vote_minutes must be from ${bounds.voteMinutes.min} to ${bounds.voteMinutes.max}.`);
  }
  if (!Number.isInteger(steps) || steps < bounds.trainSteps.min || steps > bounds.trainSteps.max) problems.push(`steps must be from ${bounds.trainSteps.min} to ${bounds.trainSteps.max}.`);
  if (!Number.isInteger(every) || every < bounds.checkpointEvery.min || every > bounds.checkpointEvery.max) {
    problems.push(`checkpoint_every must be from ${bounds.checkpointEvery.min} to ${bounds.checkpointEvery.max}.`);
  }
  if (problems.length === 0 && every > steps) problems.push(`checkpoint_every (${every}) is more than steps (${steps}): there would be no checkpoint before the end.`);
  if (problems.length === 0 && checkpointSteps(steps, every).length > MAX_CHECKPOINTS) {
    problems.push(`${steps} steps with a checkpoint every ${every} makes ${checkpointSteps(steps, every).length} checkpoints; at most ${MAX_CHECKPOINTS} can be compared. Raise checkpoint_every.`);
  }
  if (problems.length) throw new UserError('bad-options', problems.join('\n'));
}

async function refuseWhileRunning(ctx: BotContext, guildId: string): Promise<void> {
  const runningId = await ctx.store.get<string>(keys.running(guildId));
  const running = runningId ? await ctx.store.get<TrainingRecord>(keys.training(guildId, runningId)) : undefined;
  if (running?.status === 'running') {
    throw new UserError('training-running', `A training is running already${running.threadId ? ` in <#${running.threadId}>` : ''}: cancel it there, or wait for it to finish.`);
  }
}

async function loadDraft(ctx: BotContext, guildId: string, trainingId: string | undefined): Promise<TrainingDraft> {
  const draft = trainingId ? await ctx.store.get<TrainingDraft>(keys.draft(guildId, trainingId)) : undefined;
  if (draft) return draft;
  const started = trainingId ? await ctx.store.get<TrainingRecord>(keys.training(guildId, trainingId)) : undefined;
  if (started) throw new UserError('already-started', `This training has started already${started.threadId ? `: see <#${started.threadId}>` : ''}.`);
  throw new UserError('draft-expired', 'This confirmation has expired: run `/train` again.');
}

/** What will be trained and what it costs, with Start / Cancel (and an offer to caption first). */
async function confirmation(ctx: BotContext, draft: TrainingDraft, added?: AddReport, note?: string) {
  const { config, store, clock, services } = ctx;
  const items = await trainingItems(store, config, draft.guildId);
  if (items.length === 0) throw new UserError('empty-dataset', 'The dataset is empty: add drawings with `/dataset add` (or give `/train` an archive) first.');
  const missing = items.filter((item) => !item.image.caption).length;
  const runs = services.trainer.plan(draft.steps, draft.checkpointEvery);
  const estimate = estimateFor(services.trainer, config, items, draft.steps, draft.checkpointEvery);
  await requireBudget(store, config, clock, draft.guildId, estimate.usd);
  const price = config.GPU_PRICE_PER_SECOND;
  const steps = checkpointSteps(draft.steps, draft.checkpointEvery);
  const embed = new EmbedBuilder()
    .setTitle(`Train ${config.TRIGGER_WORD} for ${draft.steps} steps?`)
    .setDescription('Nothing is paid for until you press **Start**.')
    .addFields(
      {
        name: 'drawings',
        value: `${items.length}${added ? ` (${added.added.length} just added${added.refused.length ? `, ${added.refused.length} refused` : ''})` : ''}`,
        inline: true,
      },
      {
        name: 'captions missing',
        value: missing === 0 ? 'none' : `${missing} — they would train as “${config.TRIGGER_WORD}, a drawing”; caption them first for a better style`,
        inline: true,
      },
      { name: 'checkpoints', value: `${steps.join(', ')} — a preview of each to vote on` },
      { name: 'vote', value: describeVoting(draft) },
      {
        name: 'estimated GPU time and cost',
        value: `${describeCost(estimate.gpuSeconds, price)} (training ${formatUsd(estimate.trainingGpuSeconds * price)}, previews ${formatUsd(estimate.previewGpuSeconds * price)}); the last checkpoint in about ${formatDuration(estimate.wallSeconds)}`,
      },
      { name: 'strategy', value: describeStrategy(services.trainer.strategy, runs) },
    );
  if (config.BUDGET_USD !== undefined) {
    embed.addFields({ name: 'budget', value: `${formatUsd((await spentThisMonth(store, clock, draft.guildId)).usd)} of ${formatUsd(config.BUDGET_USD)} spent this month` });
  }
  const buttons = [
    new ButtonBuilder().setCustomId(customId('train', 'start', draft.id)).setLabel('Start').setStyle(ButtonStyle.Success),
    new ButtonBuilder().setCustomId(customId('train', 'discard', draft.id)).setLabel('Cancel').setStyle(ButtonStyle.Secondary),
  ];
  if (missing > 0) buttons.push(new ButtonBuilder().setCustomId(customId('train', 'caption', draft.id)).setLabel(`Caption the ${missing} first`).setStyle(ButtonStyle.Primary));
  return { content: note ?? '', embeds: [embed], components: [new ActionRowBuilder<ButtonBuilder>().addComponents(buttons)] };
}

async function showVotes(interaction: ComponentInteraction, ctx: BotContext, guildId: string, trainingId: string): Promise<void> {
  const training = await ctx.store.get<TrainingRecord>(keys.training(guildId, trainingId));
  if (!training) throw new UserError('unknown-training', 'That training is not known here any more.');
  if (training.checkpoints.length === 0) {
    await respond(interaction, { content: 'No checkpoint yet: the first preview is on its way.' }, { ephemeral: true });
    return;
  }
  const summary = tallyVotes({ votes: training.votes, steps: training.checkpoints.map((c) => c.step), override: training.override?.step });
  const lines = shownOrder(training, [...summary.counts.keys()]).map((step) => {
    const count = summary.counts.get(step) ?? 0;
    return `**${checkpointName(training, step)}** — ${count} vote${count === 1 ? '' : 's'}`;
  });
  // The winner rule's words name steps: while blind, they wait for the reveal.
  const rule = isHidden(training) ? 'Blind vote: the steps are revealed when voting closes.' : summary.explanation;
  await respond(interaction, { content: `${lines.join('\n')}\n${rule}` }, { ephemeral: true });
}

function describeVoting({ blind, voteMinutes }: TrainingDraft): string {
  const how = blind ? 'blind: previews by letter (A, B, C…), posted together at the end, steps revealed when voting closes' : 'previews by step, as they come';
  const until = voteMinutes ? `open ${voteMinutes} min after the last checkpoint, then the winner is announced` : 'the winner at the end of training is used';
  return `${how}; ${until}`;
}
