import { EmbedBuilder } from 'discord.js';
import { withStrength, type GenerationJob } from '../generation/jobs.js';
import { displaySafe } from '../generation/prompt.js';
import { t, type Locale } from '../i18n/index.js';

/** 📋 of a result: the command that draws it again, who asked, and where the job stands. */
export function parametersEmbed(job: GenerationJob, locale: Locale): EmbedBuilder {
  const p = job.parameters;
  const line = [`prompt:${p.prompt}`, `steps:${p.steps}`, `guidance:${p.guidance}`, `strength:${p.strength}`, `seed:${p.seed}`, `width:${p.width}`, `height:${p.height}`, `checkpoint:${p.checkpoint.step}`];
  if (p.negativePrompt) line.push(`negative:${p.negativePrompt}`);
  return new EmbedBuilder()
    .setTitle(t(locale, 'kmplz.params.title'))
    .setDescription(`${t(locale, 'kmplz.params.again')}\n\`\`\`/kmplz ${displaySafe(line.join(' ')).replace(/`/g, "'")}\`\`\``)
    .addFields(
      { name: t(locale, 'kmplz.params.asked-by'), value: `<@${job.userId}>`, inline: true },
      { name: t(locale, 'kmplz.params.status'), value: t(locale, `kmplz.status.${job.status}`), inline: true },
    );
}

/** A `/kmplz` picture in the showcase: who made it, the prompt and parameters, the checkpoint, the artist's credit. */
export function showcasedJobEmbed(job: GenerationJob, locale: Locale, { triggerWord, fileName }: { triggerWord: string; fileName: string }): EmbedBuilder {
  const p = withStrength(job.parameters);
  return new EmbedBuilder()
    .setTitle(displaySafe(p.prompt).slice(0, 256))
    .setDescription(t(locale, 'showcase.job', { user: job.userId, trigger: triggerWord }))
    .addFields(
      { name: t(locale, 'field.steps'), value: String(p.steps), inline: true },
      { name: t(locale, 'field.guidance'), value: String(p.guidance), inline: true },
      { name: t(locale, 'field.strength'), value: String(p.strength), inline: true },
      { name: t(locale, 'field.seed'), value: String(p.seed), inline: true },
      { name: t(locale, 'field.checkpoint'), value: t(locale, 'common.step', { step: p.checkpoint.step }), inline: true },
    )
    .setImage(`attachment://${fileName}`);
}

/** A picture shared with `/showcase image:`, credited to the person who shares it. */
export function showcasedUploadEmbed(locale: Locale, { user, triggerWord, fileName }: { user: string; triggerWord: string; fileName: string }): EmbedBuilder {
  return new EmbedBuilder().setDescription(t(locale, 'showcase.upload', { user, trigger: triggerWord })).setImage(`attachment://${fileName}`);
}
