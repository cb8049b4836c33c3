import { describe, expect, it } from 'vitest';
import { checkSchema } from '../../../src/services/replicate/schema-check.js';
import { BLIP_SCHEMA, COG_SDXL_SCHEMA, STREAMING_TRAINER_SCHEMA, withoutInputs, type OpenApiSchema } from '../../emulators/replicate/index.js';

/** A copy of `schema` with one input's schema replaced. */
function withInput(schema: OpenApiSchema, key: 'Input' | 'TrainingInput', name: string, property: Record<string, unknown>): OpenApiSchema {
  const input = schema.components.schemas[key]!;
  return { ...schema, components: { schemas: { ...schema.components.schemas, [key]: { ...input, properties: { ...input.properties, [name]: property } } } } };
}

describe('checking a version’s own schema against what kmplz sends and reads', () => {
  it('passes the models kmplz is made for, each in its role', () => {
    expect(checkSchema(COG_SDXL_SCHEMA, 'generator')).toBeUndefined();
    expect(checkSchema(COG_SDXL_SCHEMA, 'ladder-trainer')).toBeUndefined();
    expect(checkSchema(STREAMING_TRAINER_SCHEMA, 'streaming-trainer')).toBeUndefined();
    expect(checkSchema(BLIP_SCHEMA, 'captioner')).toBeUndefined();
  });

  it('names an input kmplz sends that the model lacks', () => {
    expect(checkSchema(withoutInputs(COG_SDXL_SCHEMA, 'Input', ['replicate_weights']), 'generator')).toEqual({ kind: 'no-input', input: 'replicate_weights' });
    expect(checkSchema(withoutInputs(COG_SDXL_SCHEMA, 'TrainingInput', ['input_images_filetype']), 'ladder-trainer')).toEqual({ kind: 'no-input', input: 'input_images_filetype' });
  });

  it('names an input whose type or range refuses what kmplz sends, with the validator’s words', () => {
    // /kmplz allows up to 100 steps; a model that stops at 50 would refuse some requests.
    const capped = withInput(COG_SDXL_SCHEMA, 'Input', 'num_inference_steps', { type: 'integer', minimum: 1, maximum: 50 });
    expect(checkSchema(capped, 'generator')).toEqual({ kind: 'bad-input', input: 'num_inference_steps', detail: '100: must be <= 50' });
    const textual = withInput(COG_SDXL_SCHEMA, 'TrainingInput', 'resolution', { type: 'string' });
    expect(checkSchema(textual, 'ladder-trainer')).toEqual({ kind: 'bad-input', input: 'resolution', detail: '1024: must be string' });
    const noZip = withInput(COG_SDXL_SCHEMA, 'TrainingInput', 'input_images_filetype', { enum: ['tar', 'infer'], type: 'string' });
    expect(checkSchema(noZip, 'ladder-trainer')).toEqual({ kind: 'bad-input', input: 'input_images_filetype', detail: '"zip": must be equal to one of the allowed values ("tar", "infer")' });
  });

  it('names an input the model requires and kmplz does not send', () => {
    const input = COG_SDXL_SCHEMA.components.schemas.Input!;
    const strict = { ...COG_SDXL_SCHEMA, components: { schemas: { ...COG_SDXL_SCHEMA.components.schemas, Input: { ...input, required: ['image'] } } } };
    expect(checkSchema(strict, 'generator')).toEqual({ kind: 'required-input', input: 'image' });
  });

  it('refuses an output kmplz cannot read: the official trainer in streaming mode, BLIP as a generator, an untrainable version', () => {
    // cog-sdxl's predict() returns a list at the end, and it has no TrainingOutput-less streaming.
    expect(checkSchema(COG_SDXL_SCHEMA, 'streaming-trainer')).toEqual({ kind: 'output' });
    expect(checkSchema(BLIP_SCHEMA, 'generator')).toEqual({ kind: 'output' });
    expect(checkSchema(STREAMING_TRAINER_SCHEMA, 'ladder-trainer')).toEqual({ kind: 'output' });
    expect(checkSchema(COG_SDXL_SCHEMA, 'captioner')).toEqual({ kind: 'output' });
    expect(checkSchema(null, 'generator')).toEqual({ kind: 'no-schema' });
  });
});
