import { randomInt } from 'node:crypto';
import type { BotContext } from '../src/context.js';
import { UserError } from '../src/errors.js';
import { withStrength, type GenerationJob, type GenerationParameters } from '../src/generation/jobs.js';
import { GENERATION_BOUNDS, preparePrompt, validateGenerationOptions, type GenerationOptionError } from '../src/generation/prompt.js';
import { localeOf, msg, t, type Locale, type Message } from '../src/i18n/index.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { isTrainer } from '../src/interactions/permissions.js';
import { respond } from '../src/interactions/respond.js';
import { kmplzDefinition } from './definitions.js';
import { chooseCheckpoint, startJob } from './shared/jobs.js';
import { stepChoices } from './shared/step-choices.js';
import { parametersEmbed } from '../src/views/generation-cards.js';
import { showcaseJob } from './showcase.js';

/** `/kmplz prompt:… steps:… guidance:…`: a picture in the trained style, next to the artist's drawing. */
export const kmplz: SlashCommand = {
  data: kmplzDefinition,
  guards: ['guild', { bot: 'picture' }],
  defer: () => 'public',
  async execute(interaction, ctx, { guildId }) {
    const raw = (name: string) => interaction.options.get(name)?.value;
    const checked = validateGenerationOptions({ steps: raw('steps'), guidance: raw('guidance'), strength: raw('strength'), width: raw('width'), height: raw('height'), seed: raw('seed') });
    const locale = localeOf(interaction);
    if (!checked.ok) throw new UserError('bad-options', checked.errors.map((e) => optionProblem(e, locale)));
    const promptText = raw('prompt');
    if (typeof promptText !== 'string' || !promptText.trim()) throw new UserError('empty-prompt', msg('error.empty-prompt'));
    const checkpoint = await chooseCheckpoint(ctx, guildId, raw('checkpoint'));
    const prompt = preparePrompt(promptText, { triggerWord: ctx.config.TRIGGER_WORD });
    const negative = raw('negative');
    const notes: string[] = [];
    if (prompt.truncated) notes.push(t(locale, 'kmplz.note.truncated'));
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
      guards: ['guild'],
      defer: 'ephemeral',
      async execute(interaction, [jobId], ctx, { guildId }) {
        const result = await ctx.generation.cancel(guildId, jobId ?? '', interaction.user.id);
        await respond(interaction, { content: t(localeOf(interaction), result === 'canceled' ? 'kmplz.canceled' : 'kmplz.already-finished') });
      },
    },
    again: {
      guards: ['guild', { bot: 'picture' }],
      defer: 'public',
      async execute(interaction, [jobId], ctx, { guildId }) {
        const job = await loadJob(ctx, guildId, jobId);
        const parameters = { ...job.parameters, seed: randomInt(0, GENERATION_BOUNDS.seed.max), seedChosen: false };
        await startJob(interaction, ctx, { guildId, parameters, userPrompt: job.userPrompt, notes: [] });
      },
    },
    params: {
      guards: ['guild'],
      defer: 'ephemeral',
      async execute(interaction, [jobId], ctx, { guildId }) {
        const job = await loadJob(ctx, guildId, jobId);
        await respond(interaction, { embeds: [parametersEmbed(job, localeOf(interaction))] });
      },
    },
    delete: {
      // Not 'trainer': the picture's maker may delete it too, which only the job can tell.
      guards: ['guild'],
      defer: 'update',
      async execute(interaction, [jobId], ctx, { guildId }) {
        const job = await loadJob(ctx, guildId, jobId);
        if (job.userId !== interaction.user.id && !isTrainer(interaction, ctx.config)) {
          throw new UserError('not-your-picture', msg('error.not-your-picture'));
        }
        await interaction.deleteReply();
        ctx.log.info({ jobId: job.id }, 'result deleted');
      },
    },
    showcase: {
      guards: ['guild'],
      defer: 'ephemeral',
      async execute(interaction, [jobId], ctx, { guildId }) {
        const job = await loadJob(ctx, guildId, jobId);
        await showcaseJob(interaction, ctx, job);
      },
    },
  },
};

async function loadJob(ctx: BotContext, guildId: string, jobId: string | undefined): Promise<GenerationJob> {
  // The key includes the guild the click came from: a button forged with another server's job id finds nothing.
  const job = jobId ? await ctx.generation.jobs.get(guildId, jobId) : undefined;
  if (!job) throw new UserError('unknown-job', msg('error.unknown-job'));
  return { ...job, parameters: withStrength(job.parameters) };
}

/** A refused option in the caller's words: the option named as their Discord shows it. */
function optionProblem(error: GenerationOptionError, locale: Locale): Message {
  const field = t(locale, `field.${error.field}`);
  if (error.field === 'options') return msg('option.not-an-object');
  const { min, max, multipleOf } = error.field === 'width' || error.field === 'height' ? GENERATION_BOUNDS.size : { ...GENERATION_BOUNDS[error.field], multipleOf: 1 };
  switch (error.code) {
    case 'not-a-multiple':
      return msg('option.not-a-multiple', { field, multiple: multipleOf, min, max });
    case 'not-a-number':
    case 'not-an-integer':
    case 'out-of-range':
      return msg(`option.${error.code}`, { field, min, max });
    default:
      return msg('option.not-an-object');
  }
}
