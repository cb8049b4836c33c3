import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { EventBus, type BotEvents } from '../../../src/events.js';
import { ModelChecks, type CheckedModel } from '../../../src/services/replicate/model-checks.js';
import { VersionUnavailable, type ResolvedVersion } from '../../../src/services/replicate/versions.js';
import { BLIP_SCHEMA, COG_SDXL_SCHEMA } from '../../emulators/replicate/index.js';
import { captureLogger } from '../../support/log.js';

const generator: CheckedModel = { key: 'REPLICATE_GENERATOR', model: 'stability-ai/sdxl', role: 'generator', features: ['generation', 'training'] };
const captioner: CheckedModel = { key: 'REPLICATE_CAPTIONER', model: 'salesforce/blip', role: 'captioner', features: ['captioning'] };

/** A bus that records the model checks' refusals. */
function refusals() {
  const events = new EventBus();
  const refused: BotEvents['model-check.refused'][] = [];
  events.on('model-check.refused', (payload) => refused.push(payload));
  return { events, refused };
}

/** A resolver answering from a table; what a ref maps to may be an error to throw. */
function resolver(answers: Record<string, unknown[]>) {
  const asked: string[] = [];
  return {
    asked,
    resolve: async (ref: string): Promise<ResolvedVersion> => {
      asked.push(ref);
      const answer = answers[ref]?.shift();
      if (answer instanceof Error) throw answer;
      return { owner: 'o', name: 'n', id: 'v', schema: answer };
    },
  };
}

describe('the model checks', () => {
  it('turn off only the features of the model that does not fit, in the asker’s language, logged and reported once', async () => {
    const versions = resolver({ 'stability-ai/sdxl': [BLIP_SCHEMA], 'salesforce/blip': [BLIP_SCHEMA] });
    const { log, records } = captureLogger();
    const { events, refused } = refusals();
    const checks = new ModelChecks({ versions, models: [generator, captioner], log, events });
    checks.checkAll();
    const refusal = (await checks.require('generation').catch((e: unknown) => e)) as UserError;
    expect(refusal).toBeInstanceOf(UserError);
    expect(refusal.code).toBe('model-mismatch');
    expect(refusal.render('en')).toBe('Drawing is turned off on this bot: REPLICATE_GENERATOR’s model (stability-ai/sdxl) does not return a list of image URLs. Ask the bot’s admin.');
    expect(refusal.render('ru')).toMatch(/^Рисование на этом боте отключено: Модель из REPLICATE_GENERATOR \(stability-ai\/sdxl\) не возвращает список URL картинок\./);
    await expect(checks.require('training')).rejects.toBeInstanceOf(UserError);
    await expect(checks.require('captioning')).resolves.toBeUndefined();
    // Each model was asked about once, however often its features were used.
    expect(versions.asked.sort()).toEqual(['salesforce/blip', 'stability-ai/sdxl']);
    expect(records().filter((r) => r.level === 50).map((r) => r.key)).toEqual(['REPLICATE_GENERATOR']);
    expect(refused).toEqual([
      { key: 'REPLICATE_GENERATOR', model: 'stability-ai/sdxl', features: ['generation', 'training'], problem: 'REPLICATE_GENERATOR’s model (stability-ai/sdxl) does not return a list of image URLs.' },
    ]);
  });

  it('name a model Replicate does not know, or one without a version', async () => {
    const checks = new ModelChecks({
      versions: resolver({ 'stability-ai/sdxl': [new VersionUnavailable('not-found', 'stability-ai/sdxl')], 'salesforce/blip': [new VersionUnavailable('no-version', 'salesforce/blip')] }),
      models: [generator, captioner],
      log: captureLogger().log,
      events: new EventBus(),
    });
    await expect(checks.require('generation')).rejects.toThrow('REPLICATE_GENERATOR names stability-ai/sdxl, which Replicate does not know.');
    await expect(checks.require('captioning')).rejects.toThrow('REPLICATE_CAPTIONER names salesforce/blip, which has no version to run.');
  });

  it('let a feature through when the schema could not be read, and read it again on the next use', async () => {
    const versions = resolver({ 'stability-ai/sdxl': [new Error('connect ECONNREFUSED'), BLIP_SCHEMA] });
    const { log, records } = captureLogger();
    const { events, refused } = refusals();
    const checks = new ModelChecks({ versions, models: [generator], log, events });
    await expect(checks.require('generation')).resolves.toBeUndefined();
    // Not knowing is no refusal.
    expect(refused).toEqual([]);
    expect(records().some((r) => r.level === 40 && /checking again on its next use/.test(String(r.msg)))).toBe(true);
    await expect(checks.require('generation')).rejects.toBeInstanceOf(UserError);
    expect(versions.asked).toEqual(['stability-ai/sdxl', 'stability-ai/sdxl']);
  });

  it('pass the models kmplz is made for', async () => {
    const checks = new ModelChecks({ versions: resolver({ 'stability-ai/sdxl': [COG_SDXL_SCHEMA] }), models: [generator], log: captureLogger().log, events: new EventBus() });
    await expect(checks.require('generation')).resolves.toBeUndefined();
  });
});
