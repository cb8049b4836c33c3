import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  MessageFlags,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type Attachment,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { toTrainingCaption } from '../src/captioning/clean.js';
import type { BotContext } from '../src/context.js';
import { loadDataset, readTrainingImage, setCaption } from '../src/dataset/dataset.js';
import type { DatasetImage } from '../src/dataset/records.js';
import { downloadAttachment } from '../src/dataset/intake/download.js';
import { UserError } from '../src/errors.js';
import { contactSheet, encodeToFit } from '../src/images/compose.js';
import { mapConcurrent } from '../src/images/concurrency.js';
import { customId, type SlashCommand } from '../src/interactions/command.js';
import { requireGuildId, requireTrainer } from '../src/interactions/permissions.js';
import { respond } from '../src/interactions/respond.js';
import { recordSpend, requireBudget } from '../src/money/budget.js';
import { ServiceError } from '../src/services/types.js';
import { retryWithBackoff } from '../src/util/backoff.js';
import { progressBar } from '../src/util/progress-bar.js';
import { INTAKE_LIMITS } from './dataset.js';
import { captionDefinition } from './definitions.js';

/** Captions in flight at once: BLIP is quick, and Replicate throttles bursts. */
const CAPTION_CONCURRENCY = 3;
const REVIEW_PAGE_SIZE = 5;
/** A BLIP caption costs a second or two of GPU; the budget check uses this per image. */
const CAPTION_ESTIMATE_SECONDS = 2;
const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

/**
 * `/caption image:` captions one picture and shows it as the trainer would read it;
 * `/caption` captions every dataset drawing without one, then opens the review.
 */
export const caption: SlashCommand = {
  data: captionDefinition,
  defer: (interaction) => (interaction.options.getAttachment('image') ? 'public' : 'ephemeral'),
  async execute(interaction, ctx) {
    const guildId = requireGuildId(interaction);
    const image = interaction.options.getAttachment('image');
    if (image) return captionOne(interaction, ctx, guildId, image);
    requireTrainer(interaction, ctx.config);
    return captionDataset(interaction, ctx, guildId);
  },
  components: {
    page: {
      defer: 'update',
      async execute(interaction, [page], ctx) {
        await interaction.editReply(await reviewPage(ctx, requireGuildId(interaction), Number(page) || 0, interaction.attachmentSizeLimit));
      },
    },
    edit: {
      // A modal must be the first answer to a click: no defer here.
      defer: 'none',
      async execute(interaction, [name], ctx) {
        requireTrainer(interaction, ctx.config);
        const image = (await loadDataset(ctx.store, requireGuildId(interaction))).images.find((i) => i.name === name);
        if (!image) throw new UserError('unknown-image', `There is no drawing named “${name}” any more.`);
        if (!interaction.isButton()) return;
        await interaction.showModal(
          new ModalBuilder()
            .setCustomId(customId('caption', 'save', image.name))
            .setTitle(`Caption of ${image.name}`.slice(0, 45))
            .addComponents(
              new ActionRowBuilder<TextInputBuilder>().addComponents(
                new TextInputBuilder()
                  .setCustomId('caption')
                  .setLabel('Caption (the trigger word is kept in front)')
                  .setStyle(TextInputStyle.Paragraph)
                  .setMaxLength(300)
                  .setRequired(true)
                  .setValue(image.caption ?? `${ctx.config.TRIGGER_WORD}, a drawing of `),
              ),
            ),
        );
      },
    },
    save: {
      defer: 'ephemeral',
      async execute(interaction, [name], ctx) {
        requireTrainer(interaction, ctx.config);
        if (!interaction.isModalSubmit()) return;
        const text = toTrainingCaption(interaction.fields.getTextInputValue('caption'), ctx.config.TRIGGER_WORD);
        if (!(await setCaption(ctx, requireGuildId(interaction), name ?? '', text, 'edited'))) {
          throw new UserError('unknown-image', `There is no drawing named “${name}” any more.`);
        }
        await respond(interaction, { content: `Saved the caption of **${name}**:\n> ${text}` });
      },
    },
  },
};

async function captionOne(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string, attachment: Attachment): Promise<void> {
  await requireBudget(ctx.store, ctx.config, ctx.clock, guildId, CAPTION_ESTIMATE_SECONDS * ctx.config.GPU_PRICE_PER_SECOND);
  const data = await downloadAttachment(attachment.url, { allowedHosts: ctx.config.ALLOWED_ATTACHMENT_HOSTS, maxBytes: INTAKE_LIMITS.imageBytes, timeoutMs: INTAKE_LIMITS.timeoutMs }).catch((error: unknown) => {
    throw new UserError((error as { code?: string }).code ?? 'download-failed', (error as Error).message);
  });
  const text = await captionImage(ctx, guildId, { data, contentType: attachment.contentType ?? 'image/png', name: attachment.name });
  await respond(interaction, {
    embeds: [new EmbedBuilder().setTitle('BLIP caption').setDescription(`As training would read it:\n> ${text}`).setThumbnail(attachment.url)],
  });
}

async function captionDataset(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<void> {
  const { images } = await loadDataset(ctx.store, guildId);
  if (images.length === 0) throw new UserError('empty-dataset', 'The dataset is empty: add drawings with `/dataset add` first.');
  const todo = images.filter((i) => !i.caption);
  if (todo.length > 0) {
    await requireBudget(ctx.store, ctx.config, ctx.clock, guildId, todo.length * CAPTION_ESTIMATE_SECONDS * ctx.config.GPU_PRICE_PER_SECOND);
    let done = 0;
    const failed: string[] = [];
    let lastEdit = 0;
    await respond(interaction, { content: `Captioning ${todo.length} drawings… ${progressBar(0)} 0/${todo.length}` });
    await mapConcurrent(todo, CAPTION_CONCURRENCY, async (image) => {
      try {
        const text = await captionImage(ctx, guildId, { data: await readTrainingImage(ctx.config, image), contentType: 'image/jpeg', name: `${image.name}.jpg` });
        await setCaption(ctx, guildId, image.name, text, 'blip');
      } catch (error) {
        // One image that will not caption does not stop the others; it is named at the end.
        ctx.log.warn({ err: error, image: image.name }, 'captioning failed');
        failed.push(image.name);
      }
      done++;
      if (Date.now() - lastEdit > 1500 || done === todo.length) {
        lastEdit = Date.now();
        await respond(interaction, { content: `Captioning ${todo.length} drawings… ${progressBar(done / todo.length)} ${done}/${todo.length}` }).catch(() => undefined);
      }
    });
    if (failed.length) {
      await interaction.followUp({ content: `These could not be captioned (run \`/caption\` again to retry them): ${failed.join(', ')}`, flags: MessageFlags.Ephemeral }).catch(() => undefined);
    }
  }
  await respond(interaction, await reviewPage(ctx, guildId, 0, interaction.attachmentSizeLimit));
}

/** BLIP, cleaned into the training form; throttling and loading errors are retried a few times with backoff. */
async function captionImage(ctx: BotContext, guildId: string, image: { data: Buffer; contentType: string; name: string }): Promise<string> {
  const result = await retryWithBackoff(
    () => ctx.services.captioner.caption(image),
    (error) => error instanceof ServiceError && (error.failure === 'throttled' || error.failure === 'unavailable'),
    { baseMs: 1000, maxMs: 8000, attempts: 3 },
  ).catch((error: unknown) => {
    if (error instanceof ServiceError) throw new UserError(`caption-${error.failure}`, `BLIP could not caption “${image.name}”: ${error.failure === 'throttled' ? 'the service is busy, try again in a minute' : error.message}.`);
    throw error;
  });
  await recordSpend(ctx.store, ctx.config, ctx.clock, guildId, result.gpuSeconds);
  return toTrainingCaption(result.raw, ctx.config.TRIGGER_WORD);
}

/** One page of the review: thumbnails with their captions, an Edit button per drawing, paging. */
async function reviewPage(ctx: BotContext, guildId: string, page: number, uploadLimit: number | undefined) {
  const { images } = await loadDataset(ctx.store, guildId);
  const pages = Math.max(1, Math.ceil(images.length / REVIEW_PAGE_SIZE));
  const current = Math.min(Math.max(0, page), pages - 1);
  const shown: DatasetImage[] = images.slice(current * REVIEW_PAGE_SIZE, (current + 1) * REVIEW_PAGE_SIZE);
  if (shown.length === 0) return { content: 'The dataset is empty.', embeds: [], components: [], files: [] };
  const sheet = await encodeToFit(
    await contactSheet(await Promise.all(shown.map(async (image) => ({ image: await readTrainingImage(ctx.config, image), label: image.name }))), { columns: shown.length, cell: 256 }),
    uploadLimit || DEFAULT_UPLOAD_LIMIT,
    `captions-${current + 1}`,
  );
  const embed = new EmbedBuilder()
    .setTitle(`Captions — page ${current + 1} of ${pages}`)
    .setDescription(shown.map((i) => `**${i.name}**${i.captionSource === 'edited' ? ' ✏️' : ''}\n> ${i.caption ?? '*no caption yet*'}`).join('\n'))
    .setImage(`attachment://${sheet.filename}`);
  const edits = new ActionRowBuilder<ButtonBuilder>().addComponents(
    shown.map((i) => new ButtonBuilder().setCustomId(customId('caption', 'edit', i.name)).setLabel(`Edit ${i.name}`.slice(0, 80)).setStyle(ButtonStyle.Secondary)),
  );
  const paging = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(customId('caption', 'page', current - 1)).setLabel('◀ Previous').setStyle(ButtonStyle.Primary).setDisabled(current === 0),
    new ButtonBuilder().setCustomId(customId('caption', 'page', current + 1)).setLabel('Next ▶').setStyle(ButtonStyle.Primary).setDisabled(current >= pages - 1),
  );
  return { content: '', embeds: [embed], components: [edits, paging], files: [new AttachmentBuilder(sheet.data, { name: sheet.filename })], attachments: [] };
}
