import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EmbedBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../src/context.js';
import { UserError } from '../src/errors.js';
import { cancelRow, queuedText } from '../src/generation/service.js';
import { newJobId, jobKeys, type GenerationJob, type GenerationParameters } from '../src/generation/jobs.js';
import { GENERATION_BOUNDS, displaySafe, preparePrompt, validateGenerationOptions } from '../src/generation/prompt.js';
import type { ComponentInteraction, SlashCommand } from '../src/interactions/command.js';
import { isTrainer, requireGuildId } from '../src/interactions/permissions.js';
import { replyTargetOf } from '../src/interactions/reply-target.js';
import { respond } from '../src/interactions/respond.js';
import { loadActiveCheckpoint, loadLastTraining } from '../src/training/records.js';
import { kmplzDefinition } from './definitions.js';
import { stepChoices } from './shared/step-choices.js';
import { showcaseJob } from './showcase.js';

/** Discord's default per-file upload limit, for interactions that do not say (they always should). */
const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

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
    await startJob(interaction, ctx, guildId, parameters, promptText, notes);
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
        await startJob(interaction, ctx, guildId, parameters, job.userPrompt, []);
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

async function startJob(
  interaction: ChatInputCommandInteraction | ComponentInteraction,
  ctx: BotContext,
  guildId: string,
  parameters: GenerationParameters,
  userPrompt: string,
  notes: string[],
): Promise<void> {
  const job: GenerationJob = {
    id: newJobId(),
    guildId,
    userId: interaction.user.id,
    parameters,
    userPrompt,
    notes,
    reply: replyTargetOf(interaction),
    uploadLimit: interaction.attachmentSizeLimit || DEFAULT_UPLOAD_LIMIT,
    status: 'queued',
    createdAt: ctx.clock.now(),
  };
  const accepted = await ctx.generation.submit(job);
  if (accepted.state === 'cached') {
    // The same request with the same seed was drawn before: show that picture again, for free.
    const cached = accepted.from;
    const image = await readFile(path.join(ctx.config.DATA_DIR, cached.result!.imageFile));
    const reused: GenerationJob = { ...job, status: 'succeeded', result: cached.result, notes: [...notes, '♻️ Same prompt, settings and seed as an earlier picture: here it is again, no GPU time spent.'] };
    await ctx.store.set(jobKeys.job(guildId, job.id), reused);
    const reply = await ctx.generation.composeReply(reused, image);
    await respond(interaction, reply.content);
    return;
  }
  await respond(interaction, {
    content: accepted.state === 'queued' ? queuedText(accepted.position) : '🎨 Drawing…',
    components: [cancelRow(job.id)],
  });
}

async function chooseCheckpoint(ctx: BotContext, guildId: string, requested: unknown): Promise<GenerationParameters['checkpoint']> {
  if (requested !== undefined && requested !== null && String(requested).trim() !== '') {
    const step = Number(String(requested).replace(/^step\s*/i, '').trim());
    const training = await loadLastTraining(ctx.store, guildId);
    const checkpoint = training?.checkpoints.find((c) => c.step === step);
    if (!training || !checkpoint) {
      const available = training?.checkpoints.map((c) => c.step).join(', ');
      throw new UserError('unknown-checkpoint', available ? `There is no checkpoint “${String(requested)}”. Available steps: ${available}.` : 'No checkpoints yet: nothing has been trained on this server.');
    }
    return { trainingId: training.id, step };
  }
  const active = await loadActiveCheckpoint(ctx.store, guildId);
  if (!active) {
    throw new UserError(
      'no-checkpoint',
      'There is no trained checkpoint yet, so kmplz cannot draw in the style. Trainers: add drawings with `/dataset add`, then `/train`; the class votes for the best checkpoint.',
    );
  }
  return { trainingId: active.training.id, step: active.checkpoint.step };
}

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
