import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../../src/context.js';
import { UserError } from '../../src/errors.js';
import { localeOf, msg } from '../../src/i18n/index.js';
import type { Comparison, GenerationJob, GenerationParameters } from '../../src/generation/jobs.js';
import type { TrainingRecord } from '../../src/training/records.js';
import type { ComponentInteraction } from '../../src/interactions/command.js';
import { replyTargetOf } from '../../src/interactions/reply-target.js';
import { respond } from '../../src/interactions/respond.js';
import { isHidden } from '../../src/voting/blind.js';
import { loadDrawing } from '../../src/voting/drawing.js';
import { uploadLimitOf } from '../../src/interactions/upload-limit.js';
import { renderJobReply } from '../../src/views/generation-reply.js';

/**
 * Queues a generation job (`/kmplz`, 🎲, `/compare`); the generation service tells the user
 * where it stands. A request drawn before with the same seed gets the stored picture at once.
 */
export async function startJob(
  interaction: ChatInputCommandInteraction | ComponentInteraction,
  ctx: BotContext,
  { guildId, parameters, userPrompt, notes, comparison }: { guildId: string; parameters: GenerationParameters; userPrompt: string; notes: string[]; comparison?: Comparison },
): Promise<void> {
  const locale = localeOf(interaction);
  const job: GenerationJob = {
    // From the interaction's id: a process taking the interaction over from one that died finds
    // the job that one stored, instead of making (and paying for) a second. Not the bare
    // snowflake: BullMQ refuses job ids that read as integers.
    id: `i${interaction.id}`,
    guildId,
    userId: interaction.user.id,
    parameters,
    userPrompt,
    notes,
    comparison,
    reply: replyTargetOf(interaction),
    uploadLimit: uploadLimitOf(interaction),
    status: 'queued',
    createdAt: ctx.clock.now(),
    locale,
  };
  const submitted = await ctx.generation.submit(job);
  // Accepted, the service now shows the job's place, progress and answer in the reply; a
  // request drawn before with the same seed is answered at once, with that picture, for free.
  if (submitted.state === 'answered') await respond(interaction, renderJobReply(submitted.reply));
}

/** The checkpoint a request names (`checkpoint:500`), or the one the class picked. */
export async function chooseCheckpoint(ctx: BotContext, guildId: string, requested: unknown): Promise<GenerationParameters['checkpoint']> {
  if (requested !== undefined && requested !== null && String(requested).trim() !== '') {
    const step = Number(String(requested).replace(/^step\s*/i, '').trim());
    const training = await ctx.training.repository.last(guildId);
    refuseStepsWhileBlind(training);
    const checkpoint = training?.checkpoints.find((c) => c.step === step);
    if (!training || !checkpoint) {
      const available = training?.checkpoints.map((c) => c.step).join(', ');
      throw new UserError('unknown-checkpoint', available ? msg('error.unknown-checkpoint.named', { name: String(requested), available }) : msg('error.unknown-checkpoint.none'));
    }
    return { trainingId: training.id, step };
  }
  const drawing = await loadDrawing(ctx.training.repository, guildId);
  if (drawing?.kind === 'hidden') throw new UserError('no-checkpoint', msg('error.no-checkpoint.blind', { at: Math.round(drawing.closesAt / 1000) }));
  if (!drawing) throw new UserError('no-checkpoint', msg('error.no-checkpoint'));
  return { trainingId: drawing.training.id, step: drawing.checkpoint.step };
}

/**
 * While a blind vote hides which letter is which step, a picture drawn at a step the asker names
 * (`/kmplz checkpoint:`, `/compare axis:checkpoint`) could be matched against the previews and
 * give the mapping away: naming a step waits for the vote to close.
 */
export function refuseStepsWhileBlind(training: TrainingRecord | undefined): void {
  if (training && isHidden(training)) throw new UserError('steps-hidden', msg('error.steps-hidden'));
}
