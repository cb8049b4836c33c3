import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type Attachment,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { CAPTION_ESTIMATE_SECONDS, captionImage, captionMissing, type CaptionDeps } from '../src/captioning/captions.js';
import { toTrainingCaption } from '../src/captioning/clean.js';
import type { BotContext } from '../src/context.js';
import { loadDataset, readTrainingImage, setCaption } from '../src/dataset/dataset.js';
import type { DatasetImage } from '../src/dataset/records.js';
import { UserError, isUserError } from '../src/errors.js';
import { localeOf, msg, t, type Locale } from '../src/i18n/index.js';
import { encodeToFit } from '../src/images/encode.js';
import { contactSheet } from '../src/images/sheets.js';
import { customId, type SlashCommand } from '../src/interactions/command.js';
import { replyTargetOf } from '../src/interactions/reply-target.js';
import type { ReplyTarget } from '../src/reply-target.js';
import { prefill } from '../src/interactions/modal.js';
import { respond } from '../src/interactions/respond.js';
import { uploadLimitOf } from '../src/interactions/upload-limit.js';
import { requireBudget } from '../src/money/budget.js';
import { usdPerSecond } from '../src/money/prices.js';
import { CaptionModelUnavailableError } from '../src/services/hf/errors.js';
import { ServiceError } from '../src/services/types.js';
import { MessageEditor } from '../src/util/message-editor.js';
import { progressBar } from '../src/util/progress-bar.js';
import { downloadPicture } from './shared/attachments.js';
import { captionDefinition } from './definitions.js';

const REVIEW_PAGE_SIZE = 5;
const CAPTION_BATCH = 'caption-batch';
/** At most one progress edit of a batch's reply this often; the newest progress goes out when the time is up. */
const PROGRESS_EDIT_MS = 1500;
/** The one message a batch's editor edits: its reply. */
const PROGRESS_KEY = 'reply';

/**
 * The caption editor's limit. SDXL's text encoders read 77 tokens, about 300 characters of
 * English: a longer caption's tail is not trained on. A stored caption can still be longer (the
 * trigger word is put in front of what was typed), so its pre-filled value is cut to fit.
 */
export const CAPTION_INPUT_MAX = 300;

/**
 * `/caption image:` captions one picture and shows it as the trainer would read it;
 * `/caption` captions every dataset drawing without one, then opens the review.
 */
export const caption: SlashCommand = {
  data: captionDefinition,
  defer: (interaction) => (interaction.options.getAttachment('image') ? 'public' : 'ephemeral'),
  // Anyone may caption a picture of their own; captioning the dataset is a trainer's (it is billed and changes what is trained).
  guards: (interaction) => (interaction.options.getAttachment('image') ? ['guild'] : ['guild', 'trainer']),
  async execute(interaction, ctx, { guildId }) {
    const image = interaction.options.getAttachment('image');
    if (image) return captionOne(interaction, ctx, guildId, image);
    return captionDataset(interaction, ctx, guildId);
  },
  tasks: {
    [CAPTION_BATCH]: (data, run, ctx) => captionBatch(data as CaptionBatch, run.signal, ctx),
  },
  components: {
    page: {
      guards: ['guild'],
      defer: 'update',
      async execute(interaction, [page], ctx, { guildId }) {
        await interaction.editReply(await reviewPage(ctx, guildId, Number(page) || 0, uploadLimitOf(interaction), localeOf(interaction)));
      },
    },
    edit: {
      // A modal must be the first answer to a click: no defer here.
      guards: ['guild', 'trainer'],
      defer: 'none',
      async execute(interaction, [name], ctx, { guildId }) {
        const image = (await loadDataset(ctx.store, guildId)).images.find((i) => i.name === name);
        if (!image) throw new UserError('unknown-image', msg('error.unknown-image.gone', { name: name ?? '' }));
        if (!interaction.isButton()) return;
        const locale = localeOf(interaction);
        await interaction.showModal(
          new ModalBuilder()
            .setCustomId(customId('caption', 'save', image.name))
            .setTitle(t(locale, 'caption.modal.title', { name: image.name }).slice(0, 45))
            .addComponents(
              new ActionRowBuilder<TextInputBuilder>().addComponents(
                new TextInputBuilder()
                  .setCustomId('caption')
                  .setLabel(t(locale, 'caption.modal.label'))
                  .setStyle(TextInputStyle.Paragraph)
                  .setMaxLength(CAPTION_INPUT_MAX)
                  .setRequired(true)
                  .setValue(prefill(image.caption ?? `${ctx.config.TRIGGER_WORD}, a drawing of `, CAPTION_INPUT_MAX)),
              ),
            ),
        );
      },
    },
    save: {
      guards: ['guild', 'trainer'],
      defer: 'ephemeral',
      async execute(interaction, [name], ctx, { guildId }) {
        if (!interaction.isModalSubmit()) return;
        const text = toTrainingCaption(interaction.fields.getTextInputValue('caption'), ctx.config.TRIGGER_WORD);
        if (!(await setCaption(ctx, guildId, name ?? '', text, 'edited'))) {
          throw new UserError('unknown-image', msg('error.unknown-image.gone', { name: name ?? '' }));
        }
        await respond(interaction, { content: t(localeOf(interaction), 'caption.saved', { name: name ?? '', text }) });
      },
    },
  },
};

async function captionOne(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string, attachment: Attachment): Promise<void> {
  await ctx.services.models.require('captioning');
  await requireBudget(ctx.store, ctx.config, ctx.clock, guildId, CAPTION_ESTIMATE_SECONDS * usdPerSecond(ctx.config, 'captioning'));
  // Decoded in full before BLIP sees it: a broken picture fails there only after it is billed.
  const data = await downloadPicture(ctx, attachment);
  const text = await captionImage(captionDeps(ctx), guildId, { data, contentType: attachment.contentType ?? 'image/png', name: attachment.name }).catch((error: unknown) => {
    if (error instanceof CaptionModelUnavailableError) throw new UserError('caption-model-unavailable', msg('error.caption-model-unavailable', { model: error.model }));
    if (error instanceof ServiceError) {
      const reason = error.failure === 'throttled' ? msg('error.caption.throttled', { name: attachment.name }) : msg('error.caption', { name: attachment.name, reason: error.message });
      throw new UserError(`caption-${error.failure}`, reason);
    }
    throw error;
  });
  await respond(interaction, {
    embeds: [new EmbedBuilder().setTitle(t(localeOf(interaction), 'caption.one.title')).setDescription(t(localeOf(interaction), 'caption.one.description', { text })).setThumbnail(attachment.url)],
  });
}

async function captionDataset(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<void> {
  const { images } = await loadDataset(ctx.store, guildId);
  if (images.length === 0) throw new UserError('empty-dataset', msg('error.empty-dataset'));
  const todo = images.filter((i) => !i.caption).length;
  const locale = localeOf(interaction);
  if (todo === 0) {
    await respond(interaction, await reviewPage(ctx, guildId, 0, uploadLimitOf(interaction), locale));
    return;
  }
  await ctx.services.models.require('captioning');
  // A batch takes minutes: it runs as a task, which edits this reply and survives a restart.
  const batch: CaptionBatch = { guildId, reply: replyTargetOf(interaction), locale, uploadLimit: uploadLimitOf(interaction) };
  if (!(await ctx.tasks.start(CAPTION_BATCH, guildId, batch))) throw new UserError('caption-running', msg('error.caption-running'));
  await respond(interaction, { content: t(locale, 'caption.progress', { todo, bar: progressBar(0), done: 0 }) });
}

interface CaptionBatch {
  guildId: string;
  reply: ReplyTarget;
  locale: Locale;
  uploadLimit: number;
}

/** Captions what is missing, showing progress in the reply, then turns the reply into the review. */
async function captionBatch({ guildId, reply, locale, uploadLimit }: CaptionBatch, signal: AbortSignal, ctx: BotContext): Promise<void> {
  // Progress only informs: reports, throttled (Discord rate-limits the edits of a message), and
  // never after the review or the refusal, which are changes and drop a progress still held.
  const progress = new MessageEditor({ intervalMs: PROGRESS_EDIT_MS, now: () => ctx.clock.now(), onError: (error) => ctx.log.debug({ err: error }, 'progress edit failed') });
  try {
    const { failed } = await captionMissing(captionDeps(ctx), guildId, {
      signal,
      onProgress(done, todo) {
        progress.report(PROGRESS_KEY, () => ctx.replier.edit(reply, { content: t(locale, 'caption.progress', { todo, bar: progressBar(done / todo), done }) }));
      },
    });
    if (signal.aborted) return;
    const review = await reviewPage(ctx, guildId, 0, uploadLimit, locale);
    await progress.change(PROGRESS_KEY, () => ctx.replier.finish(reply, { ...review, content: failed.length ? t(locale, 'caption.failed', { names: failed.join(', ') }) : '' }));
  } catch (error) {
    if (!isUserError(error)) throw error;
    // A refusal found on the way (the budget): the trainer reads it where the progress was.
    await progress.change(PROGRESS_KEY, () => ctx.replier.finish(reply, { content: error.render(locale), embeds: [], components: [], files: [] }));
  } finally {
    progress.close();
  }
}

function captionDeps(ctx: BotContext): CaptionDeps {
  return { ...ctx, captioner: ctx.services.captioner };
}

/** One page of the review: thumbnails with their captions, an Edit button per drawing, paging. */
async function reviewPage(ctx: BotContext, guildId: string, page: number, uploadLimit: number, locale: Locale) {
  const { images } = await loadDataset(ctx.store, guildId);
  const pages = Math.max(1, Math.ceil(images.length / REVIEW_PAGE_SIZE));
  const current = Math.min(Math.max(0, page), pages - 1);
  const shown: DatasetImage[] = images.slice(current * REVIEW_PAGE_SIZE, (current + 1) * REVIEW_PAGE_SIZE);
  if (shown.length === 0) return { content: t(locale, 'caption.review.empty'), embeds: [], components: [], files: [] };
  const sheet = await encodeToFit(
    await contactSheet(await Promise.all(shown.map(async (image) => ({ image: await readTrainingImage(ctx.config, image), label: image.name }))), { columns: shown.length, cell: 256 }),
    uploadLimit,
    `captions-${current + 1}`,
  );
  const embed = new EmbedBuilder()
    .setTitle(t(locale, 'caption.review.title', { page: current + 1, pages }))
    .setDescription(shown.map((i) => `**${i.name}**${i.captionSource === 'edited' ? ' ✏️' : ''}\n> ${i.caption ?? t(locale, 'caption.review.no-caption')}`).join('\n'))
    .setImage(`attachment://${sheet.filename}`);
  const edits = new ActionRowBuilder<ButtonBuilder>().addComponents(
    shown.map((i) => new ButtonBuilder().setCustomId(customId('caption', 'edit', i.name)).setLabel(t(locale, 'caption.review.edit', { name: i.name }).slice(0, 80)).setStyle(ButtonStyle.Secondary)),
  );
  const paging = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(customId('caption', 'page', current - 1)).setLabel(t(locale, 'caption.review.previous')).setStyle(ButtonStyle.Primary).setDisabled(current === 0),
    new ButtonBuilder().setCustomId(customId('caption', 'page', current + 1)).setLabel(t(locale, 'caption.review.next')).setStyle(ButtonStyle.Primary).setDisabled(current >= pages - 1),
  );
  return { content: '', embeds: [embed], components: [edits, paging], files: [new AttachmentBuilder(sheet.data, { name: sheet.filename })], attachments: [] };
}
