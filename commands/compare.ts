import { randomInt } from 'node:crypto';
import { UserError } from '../src/errors.js';
import { localeOf, msg, t } from '../src/i18n/index.js';
import type { Comparison } from '../src/generation/jobs.js';
import { GENERATION_BOUNDS, GENERATION_DEFAULTS, preparePrompt } from '../src/generation/prompt.js';
import type { SlashCommand } from '../src/interactions/command.js';
import { compareDefinition } from './definitions.js';
import { chooseCheckpoint, refuseStepsWhileBlind, startJob } from './shared/jobs.js';

/** A grid is for comparing at a glance; past this many cells it stops being one. */
export const MAX_COMPARE_VALUES = 5;

/**
 * `/compare prompt:… axis:steps values:20,50,70`: the same prompt and seed drawn once per value,
 * one labelled grid — the comparison the class made by hand between 20, 50 and 70 steps.
 */
export const compare: SlashCommand = {
  data: compareDefinition,
  guards: ['guild', { bot: 'picture' }],
  defer: () => 'public',
  async execute(interaction, ctx, { guildId }) {
    const axis = interaction.options.getString('axis', true);
    if (axis !== 'steps' && axis !== 'guidance' && axis !== 'strength' && axis !== 'checkpoint') throw new UserError('bad-axis', msg('error.bad-axis'));
    const values = parseValues(interaction.options.getString('values', true), axis);
    const checkpoint = await chooseCheckpoint(ctx, guildId, undefined);
    if (axis === 'checkpoint') {
      const training = await ctx.training.repository.last(guildId);
      refuseStepsWhileBlind(training);
      const steps = new Set(training?.checkpoints.map((c) => c.step));
      const missing = values.filter((v) => !steps.has(v));
      if (missing.length) {
        const available = [...steps].join(', ');
        throw new UserError('unknown-checkpoint', msg(available ? 'error.unknown-checkpoint.compare' : 'error.unknown-checkpoint.compare-none', { missing: missing.join(', '), available }));
      }
      checkpoint.trainingId = training!.id;
    }
    const promptText = interaction.options.getString('prompt', true);
    const prompt = preparePrompt(promptText, { triggerWord: ctx.config.TRIGGER_WORD });
    const comparison: Comparison = { axis, values };
    await startJob(interaction, ctx, {
      guildId,
      parameters: { prompt: prompt.prompt, ...GENERATION_DEFAULTS, seed: randomInt(0, GENERATION_BOUNDS.seed.max), seedChosen: false, checkpoint },
      userPrompt: promptText,
      notes: prompt.truncated ? [t(localeOf(interaction), 'kmplz.note.truncated-short')] : [],
      comparison,
    });
  },
};

/** `20, 50,70` → [20, 50, 70], each checked against the axis's bounds; duplicates dropped, order kept. */
export function parseValues(text: string, axis: Comparison['axis']): number[] {
  const parts = text.split(/[,\s;]+/).filter(Boolean);
  const values = [...new Set(parts.map(Number))];
  const bounds = axis === 'checkpoint' ? { min: 1, max: Number.MAX_SAFE_INTEGER } : GENERATION_BOUNDS[axis];
  const integer = axis === 'steps' || axis === 'checkpoint';
  const bad = parts.filter((part) => {
    const n = Number(part);
    return !Number.isFinite(n) || n < bounds.min || n > bounds.max || (integer && !Number.isInteger(n));
  });
  if (bad.length) throw new UserError('bad-values', msg(`error.bad-values.${axis}`, { bad: bad.join(', '), min: bounds.min, max: bounds.max }));
  if (values.length < 2) throw new UserError('too-few-values', msg('error.too-few-values'));
  if (values.length > MAX_COMPARE_VALUES) throw new UserError('too-many-values', msg('error.too-many-values', { max: MAX_COMPARE_VALUES }));
  return values;
}
