import { ActionRowBuilder, ButtonBuilder, ButtonStyle, type MessageCreateOptions } from 'discord.js';
import { t, type Locale } from '../i18n/index.js';
import { formatUsd } from '../money/budget.js';
import type { TrainingPrices } from '../training/plan.js';
import { estimateEta } from '../training/progress.js';
import type { TrainingRecord } from '../training/records.js';
import { gpuSecondsSoFar, leadingRun } from '../training/run-state.js';
import { isHidden } from '../voting/blind.js';
import { votingPhase } from '../voting/window.js';
import { discordRelativeTime, progressBar } from '../util/progress-bar.js';
import { cancelId, closeVotingId, votesId } from './training-ids.js';

/**
 * The training's status message, one per thread, edited as it goes: bar, step / total, ETA,
 * elapsed time, cost so far, and where every checkpoint stands. Rendered from the stored record
 * alone, so any run of the bot renders the same message.
 */

export function formatDuration(seconds: number, locale: Locale = 'en'): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t(locale, 'duration.seconds', { s });
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return t(locale, 'duration.minutes', { m: minutes, s: s % 60 });
  return t(locale, 'duration.hours', { h: Math.floor(minutes / 60), m: minutes % 60 });
}

export function describeCost(seconds: number, pricePerSecond: number, locale: Locale = 'en'): string {
  return t(locale, 'cost.gpu', { duration: formatDuration(seconds, locale), usd: formatUsd(seconds * pricePerSecond) });
}

/** A training's GPU time so far, its runs at the trainer's price and its previews at the generator's. */
export function describeSpend({ seconds, previewSeconds }: { seconds: number; previewSeconds: number }, prices: TrainingPrices, locale: Locale = 'en'): string {
  const usd = (seconds - previewSeconds) * prices.training + previewSeconds * prices.preview;
  return t(locale, 'cost.gpu', { duration: formatDuration(seconds, locale), usd: formatUsd(usd) });
}

function checkpointLine(training: TrainingRecord): string {
  const planned = [...new Set((training.runs ?? []).flatMap((run) => run.checkpointSteps))].sort((a, b) => a - b);
  const made = new Map(training.checkpoints.map((c) => [c.step, c]));
  const canceled = new Set((training.runs ?? []).filter((run) => run.status === 'canceled' || run.status === 'failed').flatMap((run) => run.checkpointSteps));
  return planned
    .map((step) => {
      const checkpoint = made.get(step);
      // While a blind vote runs, a link would tell which preview is which step.
      if (checkpoint?.previewUrl) return isHidden(training) ? `✅ ${step}` : `✅ [${step}](${checkpoint.previewUrl})`;
      if (checkpoint) return `🖼️ ${step}`;
      return canceled.has(step) ? `✖️ ${step}` : `⏳ ${step}`;
    })
    .join(' · ');
}

export function renderStatus(training: TrainingRecord, { now, triggerWord, prices }: { now: number; triggerWord: string; prices: TrainingPrices }): MessageCreateOptions & { content: string } {
  const lead = leadingRun(training);
  const target = training.stopAfter?.step ?? training.steps;
  const step = Math.min(target, Math.max(0, ...training.checkpoints.map((c) => c.step), lead?.progress?.step ?? 0));
  const cost = gpuSecondsSoFar(training, now);
  const locale = training.locale ?? 'en';
  const heading = t(locale, training.status === 'running' && !(lead?.status === 'processing' || step > 0) ? 'training.status.starting' : `training.status.${training.status}`);
  const lines = [
    t(locale, 'training.status.heading', { heading, trigger: triggerWord, strategy: training.strategy ?? 'ladder', steps: training.steps, every: training.checkpointEvery }),
    `${progressBar(step / target)} ${step} / ${target}`,
  ];
  if (training.status === 'running' && lead?.progress && lead.progressFrom) {
    const eta = estimateEta({
      step: lead.progress.step - lead.progressFrom.step,
      total: lead.steps - lead.progressFrom.step,
      startedAt: new Date(lead.progressFrom.at),
      now: new Date(now),
    });
    if (eta && lead.progress.step > lead.progressFrom.step) lines[1] += ` · ${t(locale, 'common.done-at', { when: discordRelativeTime(eta.finishesAt) })}`;
  }
  const end = training.finishedAt ?? now;
  const estimate = training.estimate ? ` ${t(locale, 'common.estimated', { usd: formatUsd(training.estimate.usd) })}` : '';
  const elapsed = formatDuration((end - training.createdAt) / 1000, locale);
  lines.push(t(locale, cost.exact ? 'training.status.elapsed' : 'training.status.elapsed.so-far', { elapsed, cost: describeSpend(cost, prices, locale), estimate }));
  lines.push(t(locale, 'training.status.checkpoints', { checkpoints: checkpointLine(training) }));
  if (training.stopAfter) lines.push(t(locale, 'training.status.stopped', { step: training.stopAfter.step, user: training.stopAfter.by }));
  if (training.failure) lines.push(t(locale, 'training.status.failure', { failure: training.failure.slice(0, 300) }));
  const components =
    training.status === 'running'
      ? [new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId(cancelId(training.id)).setLabel(t(locale, 'training.button.cancel')).setStyle(ButtonStyle.Danger))]
      : [];
  return { content: lines.join('\n'), components };
}

export function votesButton(trainingId: string, where: 'announcement' | 'final' | 'result', locale: Locale): ButtonBuilder {
  return new ButtonBuilder().setCustomId(votesId(trainingId, where)).setEmoji('📊').setLabel(t(locale, 'training.button.votes')).setStyle(ButtonStyle.Secondary);
}

/** The end message's buttons: the votes, and — while the vote is open after the end — a trainer's Close voting. */
export function finalComponents(training: Pick<TrainingRecord, 'id' | 'status' | 'votingClosesAt' | 'votingClosedAt' | 'locale'>): ActionRowBuilder<ButtonBuilder>[] {
  const locale = training.locale ?? 'en';
  const buttons = [votesButton(training.id, 'final', locale)];
  if (votingPhase(training) === 'open') {
    buttons.push(new ButtonBuilder().setCustomId(closeVotingId(training.id)).setEmoji('🔒').setLabel(t(locale, 'training.button.close')).setStyle(ButtonStyle.Secondary));
  }
  return [new ActionRowBuilder<ButtonBuilder>().addComponents(buttons)];
}
