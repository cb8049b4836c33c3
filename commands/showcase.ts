import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AttachmentBuilder, EmbedBuilder, type Attachment, type ChatInputCommandInteraction, type Message, type RepliableInteraction } from 'discord.js';
import type { BotContext } from '../src/context.js';
import { UserError } from '../src/errors.js';
import { localeOf, msg, t } from '../src/i18n/index.js';
import type { GenerationJob } from '../src/generation/jobs.js';
import { BOT_NEEDS, botPermissionsIn, isPermissionRefusal, refusedByDiscord, requireBotPermissions, type PermissionPlace } from '../src/interactions/bot-permissions.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { respond } from '../src/interactions/respond.js';
import { downloadPicture } from './shared/attachments.js';
import { showcaseDefinition } from './definitions.js';
import { showcasedJobEmbed, showcasedUploadEmbed } from '../src/views/generation-cards.js';
import { jobIdOfButtons } from '../src/views/generation-reply.js';

/**
 * `/showcase link:<message link>` posts a kmplz result (found through the job id its buttons
 * carry); `/showcase image:<attachment>` posts any picture, credited to the person who shares it.
 */
export const showcase: SlashCommand = {
  data: showcaseDefinition,
  // Not { bot: … }: the post goes to the showcase channel, whose permissions `post` checks.
  guards: ['guild'],
  defer: () => 'ephemeral',
  async execute(interaction, ctx, { guildId }) {
    requireShowcaseChannel(ctx);
    const link = interaction.options.getString('link');
    const image = interaction.options.getAttachment('image');
    if (link) return showcaseJob(interaction, ctx, await jobFromLink(ctx, guildId, link));
    if (image) return showcaseUpload(interaction, ctx, guildId, image);
    throw new UserError('nothing-to-showcase', msg('error.nothing-to-showcase'));
  },
};

function requireShowcaseChannel(ctx: BotContext): string {
  if (!ctx.config.SHOWCASE_CHANNEL_ID) throw new UserError('showcase-not-configured', msg('error.showcase-not-configured'));
  return ctx.config.SHOWCASE_CHANNEL_ID;
}

/** `https://discord.com/channels/<guild>/<channel>/<message>` → the kmplz job its buttons name. */
async function jobFromLink(ctx: BotContext, guildId: string, link: string): Promise<GenerationJob> {
  const match = /\/channels\/(\d{17,20})\/(\d{17,20})\/(\d{17,20})\/?$/.exec(link.trim());
  if (!match) throw new UserError('bad-link', msg('error.bad-link'));
  const [, linkGuild, channelId, messageId] = match;
  if (linkGuild !== guildId) throw new UserError('other-server', msg('error.other-server'));
  const channel = await ctx.client.channels.fetch(channelId!).catch(() => null);
  const message = channel?.isTextBased() ? await channel.messages.fetch(messageId!).catch(() => null) : null;
  if (!message) throw new UserError('message-not-found', msg('error.message-not-found'));
  // The result's buttons carry the job id in their custom_ids.
  const jobId = jobIdOfButtons(message.components.flatMap((row) => ('components' in row ? (row.components as { customId?: string | null }[]) : []).map((c) => c.customId)));
  const job = jobId ? await ctx.generation.jobs.get(guildId, jobId) : undefined;
  if (!job) throw new UserError('not-a-kmplz-picture', msg('error.not-a-kmplz-picture'));
  return job;
}

async function showcaseUpload(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string, image: Attachment): Promise<void> {
  // The class should not get a broken picture in its showcase (Discord would show an empty frame).
  const data = await downloadPicture(ctx, image);
  const fingerprint = createHash('sha256').update(data).digest('hex').slice(0, 32);
  const embed = showcasedUploadEmbed(localeOf(interaction), { user: interaction.user.id, triggerWord: ctx.config.TRIGGER_WORD, fileName: image.name });
  await post(interaction, ctx, guildId, fingerprint, { embeds: [embed], files: [new AttachmentBuilder(data, { name: image.name })] });
}

/**
 * Posts a finished `/kmplz` picture to the class showcase channel, once: who made it, the prompt
 * and parameters, the checkpoint, and a credit to the artist whose style it learned.
 */
export async function showcaseJob(interaction: RepliableInteraction, ctx: BotContext, job: GenerationJob): Promise<void> {
  requireShowcaseChannel(ctx);
  if (job.status !== 'succeeded' || !job.result) throw new UserError('nothing-to-showcase', msg('error.nothing-to-showcase.unfinished'));
  const image = await readFile(path.join(ctx.config.DATA_DIR, job.result.imageFile));
  const fileName = `kmplz-${job.id}${path.extname(job.result.imageFile)}`;
  const embed = showcasedJobEmbed(job, localeOf(interaction), { triggerWord: ctx.config.TRIGGER_WORD, fileName });
  const file = new AttachmentBuilder(image, { name: fileName });
  await post(interaction, ctx, job.guildId, `job:${job.id}`, { embeds: [embed], files: [file] });
  await ctx.generation.jobs.markShowcased(job);
}

/**
 * Posts once per `what`: the mark is taken before posting and given back if the post fails.
 * What the bot may do in the showcase channel is checked first, so a channel it cannot post in
 * gets a refusal that names the missing permissions instead of a failed post.
 */
async function post(interaction: RepliableInteraction, ctx: BotContext, guildId: string, what: string, content: { embeds: EmbedBuilder[]; files: AttachmentBuilder[] }): Promise<void> {
  const channelId = requireShowcaseChannel(ctx);
  const place = { channelId, botName: interaction.client.user.username };
  const channel = await ctx.client.channels.fetch(channelId).catch((error: unknown) => unreachable(ctx, channelId, error, place));
  if (!channel?.isSendable() || !('guildId' in channel) || channel.guildId !== guildId) {
    return unreachable(ctx, channelId, new Error('showcase channel not reachable from this server'), place);
  }
  // The interaction's app permissions are those of the channel it came from, not of the showcase.
  requireBotPermissions(botPermissionsIn(channel), BOT_NEEDS.showcase, place);
  if (!(await ctx.generation.jobs.claimShowcasePost(guildId, what, { by: interaction.user.id, at: ctx.clock.now() }))) {
    throw new UserError('already-showcased', msg('error.already-showcased'));
  }
  let message: Message;
  try {
    // The credit names people; nobody is pinged for it.
    message = await channel.send({ ...content, allowedMentions: { parse: [] } });
  } catch (error) {
    // Free the mark so the picture can be showcased once the channel works.
    await ctx.generation.jobs.releaseShowcasePost(guildId, what);
    return unreachable(ctx, channelId, error, place);
  }
  ctx.log.info({ what, messageId: message.id }, 'showcased');
  await respond(interaction, { content: t(localeOf(interaction), 'showcase.posted', { url: message.url }) });
}

/**
 * The showcase channel cannot be used. Discord's own refusal for missing permissions (the cache
 * said they were there: an admin changed them a moment ago) names what a showcase post needs.
 */
function unreachable(ctx: BotContext, channelId: string, error: unknown, place: PermissionPlace): never {
  ctx.log.warn({ err: error, channelId }, 'showcase failed');
  if (isPermissionRefusal(error)) throw refusedByDiscord(BOT_NEEDS.showcase, place);
  throw new UserError('showcase-unreachable', msg('error.showcase-unreachable'));
}
