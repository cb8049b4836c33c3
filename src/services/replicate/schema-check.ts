import { Ajv, type ErrorObject } from 'ajv';
import { GENERATION_BOUNDS } from '../../generation/prompt.js';
import { DEFAULT_TRAINING_SIZE } from '../../images/preprocess.js';
import { captionerInput } from './captioner.js';
import { generatorInput } from './generator.js';
import { ladderInput, streamingInput } from './trainer.js';

/** What kmplz uses a configured model for; each reads a different output and sends different inputs. */
export type ModelRole = 'generator' | 'ladder-trainer' | 'streaming-trainer' | 'captioner';

/** Why a version's own schema says it cannot do what kmplz asks of it. */
export type SchemaProblem =
  | { kind: 'no-schema' }
  | { kind: 'output' }
  | { kind: 'no-input'; input: string }
  | { kind: 'required-input'; input: string }
  | { kind: 'bad-input'; input: string; detail: string };

type InputKey = 'Input' | 'TrainingInput';

const SAMPLE_URL = 'https://replicate.delivery/kmplz-schema-check/sample';
const SAMPLE_SEED = 2 ** 31 - 2;

/**
 * The inputs kmplz sends in the role, built by the adapters' own input builders (so a new input
 * is checked as soon as it is sent), at the ends of the ranges kmplz allows: what one of them
 * refuses, some request of some person would.
 */
function sentInputs(role: ModelRole): { key: InputKey; inputs: Record<string, unknown>[] } {
  const run = { datasetUrl: SAMPLE_URL, triggerWord: 'KMPLZ', seed: SAMPLE_SEED, resolution: DEFAULT_TRAINING_SIZE };
  switch (role) {
    case 'generator': {
      const { steps, guidance, strength, size } = GENERATION_BOUNDS;
      const extremes = [
        { steps: steps.min, guidance: guidance.min, strength: strength.min, width: size.min, height: size.max },
        { steps: steps.max, guidance: guidance.max, strength: strength.max, width: size.max, height: size.min },
      ];
      return {
        key: 'Input',
        inputs: extremes.map((e) => ({ ...generatorInput({ prompt: 'KMPLZ, a drawing', negativePrompt: 'blurry', seed: SAMPLE_SEED, ...e }), replicate_weights: SAMPLE_URL })),
      };
    }
    case 'ladder-trainer':
      return { key: 'TrainingInput', inputs: [ladderInput({ ...run, run: { steps: 1000, checkpointSteps: [1000] } })] };
    case 'streaming-trainer':
      return { key: 'Input', inputs: [streamingInput({ ...run, run: { steps: 1000, checkpointSteps: [250, 500, 750, 1000] } })] };
    case 'captioner':
      return { key: 'Input', inputs: [captionerInput(SAMPLE_URL)] };
  }
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  allOf?: Schema[];
  $ref?: string;
  'x-cog-array-type'?: string;
}

type Components = Record<string, Schema | undefined>;

/** `{ $ref }` or pydantic's `{ allOf: [{ $ref }] }`, followed within the document's components. */
function resolve(schema: Schema | undefined, components: Components): Schema | undefined {
  const ref = schema?.$ref ?? (schema?.allOf?.length === 1 ? schema.allOf[0]?.$ref : undefined);
  const name = ref?.replace('#/components/schemas/', '');
  return name !== undefined ? resolve(components[name], components) : schema;
}

/** Whether the output has the shape kmplz reads in the role. */
function outputFits(role: ModelRole, components: Components): boolean {
  const isString = (schema: Schema | undefined) => resolve(schema, components)?.type === 'string';
  if (role === 'ladder-trainer') {
    // The platform adds `version` to a training's output; the model's own part is `weights`.
    return isString(resolve(components.TrainingOutput, components)?.properties?.weights);
  }
  const output = resolve(components.Output, components);
  if (role === 'captioner') return output?.type === 'string';
  const list = output?.type === 'array' && isString(output.items);
  // Only an iterator's output grows while it runs; a list comes whole at the end.
  return role === 'streaming-trainer' ? list && output['x-cog-array-type'] === 'iterator' : list;
}

// Cog's keywords (`x-order`, `x-cog-array-type`, `nullable`) are not JSON Schema's.
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('uri', (value: string) => URL.canParse(value));

/**
 * Checks a version's `openapi_schema` against kmplz's use of it in `role`, with a JSON Schema
 * validator: the output has the shape kmplz reads, every input kmplz sends exists and takes the
 * values kmplz sends, and nothing the model requires is left out. The first problem, or none.
 */
export function checkSchema(openapi: unknown, role: ModelRole): SchemaProblem | undefined {
  const components = (openapi as { components?: { schemas?: Components } } | null)?.components?.schemas;
  const { key, inputs } = sentInputs(role);
  const input = components?.[key];
  if (!components || (!input && !components.Output)) return { kind: 'no-schema' };
  if (!outputFits(role, components) || !input) return { kind: 'output' };
  const properties = input.properties ?? {};
  const validate = ajv.compile({ ...input, components: { schemas: components } });
  for (const sent of inputs) {
    const unknown = Object.keys(sent).find((name) => !(name in properties));
    if (unknown) return { kind: 'no-input', input: unknown };
    const missing = (input.required ?? []).find((name) => !(name in sent));
    if (missing) return { kind: 'required-input', input: missing };
    if (!validate(sent)) return badInput(validate.errors?.[0], sent);
  }
  return undefined;
}

function badInput(error: ErrorObject | undefined, sent: Record<string, unknown>): SchemaProblem {
  const input = error?.instancePath.replace(/^\//, '').split('/')[0] ?? '';
  const value = JSON.stringify(sent[input]);
  const allowed = error?.keyword === 'enum' ? ` (${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')})` : '';
  return { kind: 'bad-input', input, detail: `${value}: ${error?.message ?? 'refused'}${allowed}` };
}
