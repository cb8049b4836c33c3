import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AttachmentBuilder, EmbedBuilder, type RepliableInteraction } from 'discord.js';
import type { BotContext } from '../src/context.js';
import { UserError } from '../src/errors.js';
import type { GenerationJob } from '../src/generation/jobs.js';
import { displaySafe } from '../src/generation/prompt.js';
import { respond } from '../src/interactions/respond.js';

const showcasedKey = (guildId: string, jobId: string) => `guild:${guildId}:showcased:${jobId}`;

/**
 * Posts a finished `/kmplz` picture to the class showcase channel, once: who made it, the prompt
 * and parameters, the checkpoint, and a credit to the artist whose style it learned.
 */
export async function showcaseJob(interaction: RepliableInteraction, ctx: BotContext, job: GenerationJob): Promise<void> {
  const channelId = ctx.config.SHOWCASE_CHANNEL_ID;
  if (!channelId) throw new UserError('showcase-not-configured', 'This bot has no showcase channel yet: an admin can set SHOWCASE_CHANNEL_ID.');
  if (job.status !== 'succeeded' || !job.result) throw new UserError('nothing-to-showcase', 'This picture is not finished, so it cannot be showcased.');
  if (!(await ctx.store.setIfAbsent(showcasedKey(job.guildId, job.id), { by: interaction.user.id, at: ctx.clock.now() }))) {
    throw new UserError('already-showcased', 'This picture is already in the showcase.');
  }
  try {
    const channel = await ctx.client.channels.fetch(channelId);
    if (!channel?.isSendable() || !('guildId' in channel) || channel.guildId !== job.guildId) throw new Error('showcase channel not reachable from this server');
    const image = await readFile(path.join(ctx.config.DATA_DIR, job.result.imageFile));
    const file = new AttachmentBuilder(image, { name: `kmplz-${job.id}${path.extname(job.result.imageFile)}` });
    const p = job.parameters;
    const embed = new EmbedBuilder()
      .setTitle(displaySafe(p.prompt).slice(0, 256))
      .setDescription(`Made by <@${job.userId}> with kmplz · in the style of the artist whose drawings taught it ${ctx.config.TRIGGER_WORD}`)
      .addFields(
        { name: 'steps', value: String(p.steps), inline: true },
        { name: 'guidance', value: String(p.guidance), inline: true },
        { name: 'seed', value: String(p.seed), inline: true },
        { name: 'checkpoint', value: `step ${p.checkpoint.step}`, inline: true },
      )
      .setImage(`attachment://${file.name}`);
    const message = await channel.send({ embeds: [embed], files: [file], allowedMentions: { parse: [] } });
    ctx.log.info({ jobId: job.id, messageId: message.id }, 'showcased');
    await respond(interaction, { content: `⭐ Posted to the showcase: ${message.url}` });
  } catch (error) {
    // Free the mark so the picture can be showcased once the channel works.
    await ctx.store.delete(showcasedKey(job.guildId, job.id));
    ctx.log.warn({ err: error, channelId }, 'showcase failed');
    throw new UserError('showcase-unreachable', 'kmplz cannot post in the showcase channel: check that it exists in this server and that the bot may send messages and attach files there.');
  }
}
