import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, type MessageCreateOptions } from 'discord.js';
import { t } from '../i18n/index.js';
import { formatUsd } from '../money/budget.js';
import type { TrainingViews } from '../training/discord-thread.js';
import type { TrainingPrices } from '../training/plan.js';
import type { TrainingRecord } from '../training/records.js';
import { gpuSecondsSoFar } from '../training/run-state.js';
import type { TrainingMessage, TrainingRewrite } from '../training/thread.js';
import { checkpointName, describeReveal, isHidden } from '../voting/blind.js';
import { explainWinner, tally } from '../voting/tally.js';
import { votingPhase } from '../voting/window.js';
import { messageTag, stopId, voteId } from './training-ids.js';
import { describeCost, describeSpend, finalComponents, renderStatus, votesButton } from './training-status.js';
import { liveLines, previewContent, resultLines, rewriteFinal, rewritePreview } from './training-text.js';

export interface TrainingViewOptions {
  triggerWord: string;
  prices: TrainingPrices;
}

type Of<K extends TrainingMessage['kind']> = Extract<TrainingMessage, { kind: K }>;
type Rendered = MessageCreateOptions & { content: string };

/** The training's messages in Discord: text in the training's language, buttons, the preview sheet. */
export function trainingViews(options: TrainingViewOptions): TrainingViews {
  return {
    render(message) {
      switch (message.kind) {
        case 'announcement':
          return announcement(message, options);
        case 'status':
          return renderStatus(message.record, { now: message.now, triggerWord: options.triggerWord, prices: options.prices });
        case 'preview':
          return preview(message, options);
        case 'final':
          return final(message, options);
        case 'result':
          return result(message);
      }
    },
    rewrite(posted, rewrite: TrainingRewrite) {
      if (rewrite.kind === 'preview-tally') return { content: rewritePreview(posted, rewrite.record, rewrite.step, options.triggerWord) };
      return { content: rewriteFinal(posted, rewrite.record), components: finalComponents(rewrite.record) };
    },
    tag: messageTag,
    threadName: (record: TrainingRecord) => t(record.locale ?? 'en', 'training.thread-name', { trigger: options.triggerWord, steps: record.steps }),
  };
}

function announcement({ record }: Of<'announcement'>, { triggerWord }: TrainingViewOptions): Rendered {
  const locale = record.locale ?? 'en';
  const ladder = (record.strategy ?? 'ladder') === 'ladder' && (record.runs?.length ?? 0) > 1;
  return {
    content: [
      t(locale, 'training.announcement', { user: record.startedBy, trigger: triggerWord, steps: record.steps, every: record.checkpointEvery }),
      ...(ladder ? [t(locale, 'training.announcement.ladder')] : []),
    ].join('\n'),
    components: [new ActionRowBuilder<ButtonBuilder>().addComponents(votesButton(record.id, 'announcement', locale))],
  };
}

function preview({ record, step, image, notDrawn, refused, canStop }: Of<'preview'>, { triggerWord }: TrainingViewOptions): Rendered {
  const locale = record.locale ?? 'en';
  const name = checkpointName(record, step, locale);
  const buttons = [new ButtonBuilder().setCustomId(voteId(record.id, step)).setEmoji('🗳️').setLabel(t(locale, 'preview.button.vote', { name })).setStyle(ButtonStyle.Primary)];
  if (canStop) buttons.push(new ButtonBuilder().setCustomId(stopId(record.id, step)).setLabel(t(locale, 'preview.button.stop')).setStyle(ButtonStyle.Secondary));
  const notes: string[] = [];
  if (notDrawn.length) notes.push(t(locale, 'preview.not-drawn', { notes: notDrawn.join('; ') }));
  if (refused) notes.push(t(locale, 'preview.no-pictures', { reason: refused }));
  return {
    content: previewContent(record, step, triggerWord, notes),
    files: image ? [new AttachmentBuilder(image.data, { name: image.filename })] : [],
    components: [new ActionRowBuilder<ButtonBuilder>().addComponents(buttons)],
  };
}

/** How the training ended: the winner (or the open vote's lines), a stop, failed runs, the cost, the month's budget. */
function final({ record, chosen, now, budget }: Of<'final'>, { prices }: TrainingViewOptions): Rendered {
  const locale = record.locale ?? 'en';
  const estimate = record.estimate ? ` ${t(locale, 'common.estimated', { usd: formatUsd(record.estimate.usd) })}` : '';
  const noReason = t(locale, 'common.no-reason');
  const lines: string[] = [];
  if (record.status === 'succeeded') {
    if (votingPhase(record) === 'open') {
      lines.push(t(locale, 'training.finished'), ...liveLines(record));
    } else {
      const counts = tally(record.votes, record.checkpoints.map((c) => c.step));
      lines.push(chosen ? t(locale, 'training.finished.winner', { step: chosen.step, explanation: explainWinner(locale, chosen, counts) }) : t(locale, 'training.finished'));
    }
    if (record.blind && !isHidden(record)) lines.push(t(locale, 'training.revealed', { reveal: describeReveal(record, record.checkpoints.map((c) => c.step), locale) }));
    if (record.stopAfter) {
      lines.push(t(locale, 'training.finished.stopped', { step: record.stopAfter.step, user: record.stopAfter.by, cost: describeCost(record.stopAfter.savedGpuSeconds, prices.training, locale) }));
    }
    const failed = (record.runs ?? []).filter((run) => run.status === 'failed');
    const described = failed.map((run) => t(locale, 'training.finished.failed-run', { steps: run.steps, error: (run.error ?? noReason).slice(0, 150) }));
    if (failed.length) lines.push(t(locale, 'training.finished.failed-runs', { runs: described.join('; ') }));
  } else if (record.status === 'canceled') {
    lines.push(t(locale, 'training.canceled', { user: record.canceled?.by ?? record.startedBy, cost: describeCost(record.canceled?.savedGpuSeconds ?? 0, prices.training, locale) }));
  } else {
    lines.push(t(locale, 'training.failed', { failure: (record.failure ?? noReason).slice(0, 500) }));
  }
  lines.push(t(locale, 'training.cost', { cost: describeSpend(gpuSecondsSoFar(record, now), prices, locale), estimate }));
  if (budget) lines.push(t(locale, 'training.budget', { spent: formatUsd(budget.spentUsd), budget: formatUsd(budget.budgetUsd) }));
  return { content: lines.join('\n'), components: finalComponents(record) };
}

function result({ record, chosen }: Of<'result'>): Rendered {
  return {
    content: resultLines(record, chosen).join('\n'),
    components: [new ActionRowBuilder<ButtonBuilder>().addComponents(votesButton(record.id, 'result', record.locale ?? 'en'))],
  };
}
