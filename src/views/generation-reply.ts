import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder } from 'discord.js';
import { renderUserErrorText } from '../errors.js';
import type { JobFailure, JobReplies, JobReplyState } from '../generation/reply-state.js';
import { displaySafe } from '../generation/prompt.js';
import { t, type Locale } from '../i18n/index.js';
import { customId, parseCustomId } from '../interactions/command.js';
import type { Replier } from '../interactions/reply-target.js';
import { discordRelativeTime, progressBar } from '../util/progress-bar.js';
import { truncate } from './text.js';

/** The generation service's reply port on Discord: each state rendered here, delivered by the `Replier`. */
export function jobRepliesVia(replier: Pick<Replier, 'edit' | 'finish'>): JobReplies {
  return {
    edit: (target, state) => replier.edit(target, renderJobReply(state)),
    finish: (target, state) => replier.finish(target, renderJobReply(state)),
  };
}

/** A job's reply as Discord takes it: an interaction reply or edit, a webhook edit, a channel message. */
export interface JobReplyContent {
  content: string;
  embeds?: EmbedBuilder[];
  files?: AttachmentBuilder[];
  components: ActionRowBuilder<ButtonBuilder>[];
  /** Empty: the files replace whatever the reply carried before. */
  attachments?: [];
}

/** A `/kmplz` or `/compare` job's reply in one of its states. */
export function renderJobReply(reply: JobReplyState): JobReplyContent {
  const { locale } = reply;
  switch (reply.state) {
    case 'queued':
      return { content: queuedText(reply.position, locale, reply.ownGpuServers), components: [cancelRow(reply.jobId, locale)] };
    case 'drawing': {
      const p = reply.progress;
      const eta = p?.finishesAt !== undefined ? ` · ${t(locale, 'common.done-at', { when: discordRelativeTime(p.finishesAt) })}` : '';
      const content = p ? `${t(locale, 'kmplz.drawing')} ${progressBar(p.step / p.total)} ${p.step}/${p.total}${eta}` : `${t(locale, 'kmplz.drawing')} ${progressBar(0)}`;
      return { content, components: [cancelRow(reply.jobId, locale)] };
    }
    case 'drawing-cell': {
      const drawing = t(locale, 'kmplz.drawing.cell', { index: reply.index + 1, total: reply.total, axis: t(locale, `field.${reply.axis}`), value: reply.value });
      return { content: `${drawing} ${progressBar(reply.index / reply.total)}`, components: [cancelRow(reply.jobId, locale)] };
    }
    case 'succeeded':
      return pictureReply(reply);
    case 'compared':
      return comparisonReply(reply);
    case 'failed':
      return ended(failureText(reply.failure, locale));
    case 'canceled':
      return ended(t(locale, reply.nothingSpent ? 'kmplz.canceled.nothing-spent' : 'kmplz.canceled'));
  }
}

/** The answer: the side-by-side image, the plain picture, the parameters and the buttons. */
function pictureReply(reply: Extract<JobReplyState, { state: 'succeeded' }>): JobReplyContent {
  const { locale, parameters: p } = reply;
  const embed = new EmbedBuilder()
    .setTitle(truncate(displaySafe(p.prompt), 256))
    .addFields(
      { name: t(locale, 'field.steps'), value: String(p.steps), inline: true },
      { name: t(locale, 'field.guidance'), value: String(p.guidance), inline: true },
      { name: t(locale, 'field.strength'), value: String(p.strength), inline: true },
      { name: t(locale, 'field.seed'), value: String(p.seed), inline: true },
      { name: t(locale, 'field.size'), value: `${p.width}×${p.height}`, inline: true },
      { name: t(locale, 'field.checkpoint'), value: t(locale, 'common.step', { step: p.checkpoint.step }), inline: true },
    )
    .setImage(`attachment://${reply.files[0]!.name}`)
    .setFooter({
      text: reply.referenceName
        ? t(locale, 'kmplz.footer', { trigger: reply.triggerWord, step: p.checkpoint.step, reference: reply.referenceName })
        : t(locale, 'kmplz.footer.no-reference'),
    });
  if (p.negativePrompt) embed.addFields({ name: t(locale, 'field.negative'), value: truncate(displaySafe(p.negativePrompt), 1024) });
  const notes = reply.reused ? [...reply.notes, t(locale, 'kmplz.note.reused')] : reply.notes;
  return {
    content: notes.join('\n'),
    embeds: [embed],
    files: reply.files.map((file) => new AttachmentBuilder(file.data, { name: file.name })),
    components: [resultRow(reply.jobId, locale)],
    attachments: [],
  };
}

function comparisonReply(reply: Extract<JobReplyState, { state: 'compared' }>): JobReplyContent {
  const { locale, parameters: p, comparison } = reply;
  const axis = t(locale, `field.${comparison.axis}`);
  const varies = t(locale, 'kmplz.varies');
  const embed = new EmbedBuilder()
    .setTitle(truncate(t(locale, 'kmplz.compare.title', { axis, values: comparison.values.join(', ') }), 256))
    .setDescription(truncate(displaySafe(p.prompt), 2000))
    .addFields(
      { name: t(locale, 'field.seed'), value: String(p.seed), inline: true },
      { name: t(locale, 'field.steps'), value: comparison.axis === 'steps' ? varies : String(p.steps), inline: true },
      { name: t(locale, 'field.guidance'), value: comparison.axis === 'guidance' ? varies : String(p.guidance), inline: true },
      { name: t(locale, 'field.strength'), value: comparison.axis === 'strength' ? varies : String(p.strength), inline: true },
      { name: t(locale, 'field.checkpoint'), value: comparison.axis === 'checkpoint' ? varies : t(locale, 'common.step', { step: p.checkpoint.step }), inline: true },
    )
    .setImage(`attachment://${reply.grid.name}`);
  return { content: '', embeds: [embed], files: [new AttachmentBuilder(reply.grid.data, { name: reply.grid.name })], components: [], attachments: [] };
}

/** A job that ended without a picture: only the words stay, the buttons and any embed go. */
function ended(content: string): JobReplyContent {
  return { content, embeds: [], components: [], files: [] };
}

function queuedText(position: number, locale: Locale, ownGpuServers: number | undefined): string {
  const text = position <= 1 ? t(locale, 'kmplz.queued.next') : t(locale, 'kmplz.queued', { position });
  // On the class's own Cog servers each draws one picture at a time: the wait is theirs.
  return ownGpuServers === undefined ? text : `${text} ${t(locale, 'kmplz.queued.own-gpu', { servers: ownGpuServers })}`;
}

export function failureText(failure: JobFailure, locale: Locale): string {
  switch (failure.code) {
    case 'refused':
      return renderUserErrorText(locale, failure.text);
    case 'internal':
      return t(locale, 'kmplz.failure.internal');
    case 'lost':
      return t(locale, 'kmplz.lost');
    case 'canceled':
      return t(locale, 'kmplz.canceled');
    case 'failed':
      return t(locale, 'kmplz.failure.failed', { detail: truncate(failure.detail, 300) });
    default:
      return t(locale, `kmplz.failure.${failure.code}`);
  }
}

function cancelRow(jobId: string, locale: Locale): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(customId('kmplz', 'cancel', jobId)).setLabel(t(locale, 'common.cancel')).setStyle(ButtonStyle.Secondary),
  );
}

function resultRow(jobId: string, locale: Locale): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(customId('kmplz', 'again', jobId)).setEmoji('🎲').setLabel(t(locale, 'kmplz.button.again')).setStyle(ButtonStyle.Primary),
    new ButtonBuilder().setCustomId(customId('kmplz', 'showcase', jobId)).setEmoji('⭐').setLabel(t(locale, 'kmplz.button.showcase')).setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setCustomId(customId('kmplz', 'params', jobId)).setEmoji('📋').setLabel(t(locale, 'kmplz.button.params')).setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setCustomId(customId('kmplz', 'delete', jobId)).setEmoji('🗑').setLabel(t(locale, 'kmplz.button.delete')).setStyle(ButtonStyle.Danger),
  );
}

/** The job a result's buttons name (each carries its id, see `resultRow`): how `/showcase link:` finds a picture's job. */
export function jobIdOfButtons(customIds: readonly (string | null | undefined)[]): string | undefined {
  return customIds.map((id) => (id ? parseCustomId(id) : undefined)).find((id) => id?.command === 'kmplz')?.args[0];
}
