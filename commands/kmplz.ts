import { randomInt } from 'node:crypto';
import { EmbedBuilder } from 'discord.js';
import type { BotContext } from '../src/context.js';
import { UserError } from '../src/errors.js';
import { jobKeys, type GenerationJob, type GenerationParameters } from '../src/generation/jobs.js';
import { GENERATION_BOUNDS, displaySafe, preparePrompt, validateGenerationOptions } from '../src/generation/prompt.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { isTrainer, requireGuildId } from '../src/interactions/permissions.js';
import { respond } from '../src/interactions/respond.js';
import { kmplzDefinition } from './definitions.js';
import { chooseCheckpoint, startJob } from './shared/jobs.js';
import { stepChoices } from './shared/step-choices.js';
import { showcaseJob } from './showcase.js';

/** `/kmplz prompt:… steps:… guidance:…`: a picture in the trained style, next to the artist's drawing. */
export const kmplz: SlashCommand = {
  data: kmplzDefinition,
  defer: () => 'public',
  async execute(interaction, ctx) {
    const guildId = requireGuildId(interaction);
    const raw = (name: string) => interaction.options.get(name)?.value;
    const checked = validateGenerationOptions({ steps: raw('steps'), guidance: raw('guidance'), width: raw('width'), height: raw('height'), seed: raw('seed') });
    if (!checked.ok) throw new UserError('bad-options', checked.errors.map((e) => e.message).join('\n'));
    const promptText = raw('prompt');
    if (typeof promptText !== 'string' || !promptText.trim()) throw new UserError('empty-prompt', 'Tell kmplz what to draw: `/kmplz prompt:a sad girl in a hoodie and jeans`.');
    const checkpoint = await chooseCheckpoint(ctx, guildId, raw('checkpoint'));
    const prompt = preparePrompt(promptText, { triggerWord: ctx.config.TRIGGER_WORD });
    const negative = raw('negative');
    const notes: string[] = [];
    if (prompt.truncated) notes.push('✂️ Your prompt was longer than the model reads (about 75 tokens); the end was cut.');
    const parameters: GenerationParameters = {
      prompt: prompt.prompt,
      negativePrompt: typeof negative === 'string' && negative.trim() ? negative.trim() : undefined,
      ...checked.options,
      seed: checked.options.seed ?? randomInt(0, GENERATION_BOUNDS.seed.max),
      seedChosen: checked.options.seed !== undefined,
      checkpoint,
    };
    await startJob(interaction, ctx, { guildId, parameters, userPrompt: promptText, notes });
  },
  autocomplete: stepChoices,
  components: {
    cancel: {
      defer: 'ephemeral',
      async execute(interaction, [jobId], ctx) {
        const result = await ctx.generation.cancel(requireGuildId(interaction), jobId ?? '', interaction.user.id);
        await respond(interaction, { content: result === 'canceled' ? 'Canceled.' : 'That picture is already finished.' });
      },
    },
    again: {
      defer: 'public',
      async execute(interaction, [jobId], ctx) {
        const guildId = requireGuildId(interaction);
        const job = await loadJob(ctx, guildId, jobId);
        const parameters = { ...job.parameters, seed: randomInt(0, GENERATION_BOUNDS.seed.max), seedChosen: false };
        await startJob(interaction, ctx, { guildId, parameters, userPrompt: job.userPrompt, notes: [] });
      },
    },
    params: {
      defer: 'ephemeral',
      async execute(interaction, [jobId], ctx) {
        const job = await loadJob(ctx, requireGuildId(interaction), jobId);
        await respond(interaction, { embeds: [parametersEmbed(job)] });
      },
    },
    delete: {
      defer: 'update',
      async execute(interaction, [jobId], ctx) {
        const job = await loadJob(ctx, requireGuildId(interaction), jobId);
        if (job.userId !== interaction.user.id && !isTrainer(interaction, ctx.config)) {
          throw new UserError('not-your-picture', 'Only the person who made this picture, or a trainer, can delete it.');
        }
        await interaction.deleteReply();
        ctx.log.info({ jobId: job.id }, 'result deleted');
      },
    },
    showcase: {
      defer: 'ephemeral',
      async execute(interaction, [jobId], ctx) {
        const job = await loadJob(ctx, requireGuildId(interaction), jobId);
        await showcaseJob(interaction, ctx, job);
      },
    },
  },
};

async function loadJob(ctx: BotContext, guildId: string, jobId: string | undefined): Promise<GenerationJob> {
  // The key includes the guild the click came from: a button forged with another server's job id finds nothing.
  const job = jobId ? await ctx.store.get<GenerationJob>(jobKeys.job(guildId, jobId)) : undefined;
  if (!job) throw new UserError('unknown-job', 'That picture is not known here any more.');
  return job;
}

function parametersEmbed(job: GenerationJob): EmbedBuilder {
  const p = job.parameters;
  const line = [`prompt:${p.prompt}`, `steps:${p.steps}`, `guidance:${p.guidance}`, `seed:${p.seed}`, `width:${p.width}`, `height:${p.height}`, `checkpoint:${p.checkpoint.step}`];
  if (p.negativePrompt) line.push(`negative:${p.negativePrompt}`);
  return new EmbedBuilder()
    .setTitle('Parameters')
    .setDescription(`To make it again:\n\`\`\`/kmplz ${displaySafe(line.join(' ')).replace(/`/g, "'")}\`\`\``)
    .addFields({ name: 'asked by', value: `<@${job.userId}>`, inline: true }, { name: 'status', value: job.status, inline: true });
}
