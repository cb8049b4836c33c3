import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/**
 * The version schemas the emulated models publish (`openapi_schema` of
 * `GET /models/{o}/{n}/versions/{id}`), each written from the real model's code: the JSON files
 * beside this one name the source file and commit they follow.
 */
export interface OpenApiSchema {
  openapi: string;
  info: Record<string, unknown>;
  components: { schemas: Record<string, JsonSchema> };
}

export interface JsonSchema {
  type?: string;
  title?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  allOf?: JsonSchema[];
  $ref?: string;
  enum?: unknown[];
  items?: JsonSchema;
  [keyword: string]: unknown;
}

function fixture(name: string): OpenApiSchema {
  const file = JSON.parse(readFileSync(new URL(`./schemas/${name}`, import.meta.url), 'utf8')) as { openapi_schema: OpenApiSchema };
  return file.openapi_schema;
}

/** replicate/cog-sdxl predict.py and train.py. */
export const COG_SDXL_SCHEMA = fixture('cog-sdxl.json');
/** salesforce/BLIP predict.py (Replicate's `salesforce/blip`). */
export const BLIP_SCHEMA = fixture('blip.json');
/** kmplz's own streaming trainer: a prediction whose output grows by one weights URL per checkpoint. */
export const STREAMING_TRAINER_SCHEMA = fixture('kmplz-streaming-trainer.json');

export type InputKey = 'Input' | 'TrainingInput';

/** One entry of the API's `invalid_fields` (gojsonschema's wording, as api.replicate.com answers: a 422 titled "Input validation failed"). */
export interface InvalidField {
  type: string;
  field: string;
  description: string;
}

// One compiler for every schema; `x-order`, `x-cog-array-type` and `nullable` are Cog's own keywords.
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('uri', (value: string) => URL.canParse(value));
const compiled = new WeakMap<OpenApiSchema, Map<InputKey, ValidateFunction>>();

function validatorFor(schema: OpenApiSchema, key: InputKey): ValidateFunction | undefined {
  const input = schema.components.schemas[key];
  if (!input) return undefined;
  let byKey = compiled.get(schema);
  if (!byKey) compiled.set(schema, (byKey = new Map()));
  let validate = byKey.get(key);
  if (!validate) {
    // The enum schemas are siblings under components: keep them reachable for `$ref`s.
    validate = ajv.compile({ ...input, components: schema.components });
    byKey.set(key, validate);
  }
  return validate;
}

/**
 * Checks an input as the API does before it queues a job: against the version's own schema,
 * 422 (these fields) when anything is wrong. Keys the schema does not name are dropped, not
 * refused: Cog strips unknown inputs silently (coglet `input_validation.rs` `strip_unknown`;
 * before it, pydantic v1's default `extra = ignore` on Cog's `BaseInput`). A `null` counts as
 * absent, as an optional Cog input with no default is `None` either way. Returns the input as the
 * model sees it (unknown keys dropped) beside the refusals.
 */
export function checkInput(schema: OpenApiSchema | undefined, key: InputKey, input: Record<string, unknown>): { input: Record<string, unknown>; invalid: InvalidField[] } {
  const validate = schema && validatorFor(schema, key);
  if (!schema || !validate) return { input, invalid: [] };
  const properties = schema.components.schemas[key]?.properties ?? {};
  const known = Object.fromEntries(Object.entries(input).filter(([name, value]) => name in properties && value !== null));
  if (validate(known)) return { input: known, invalid: [] };
  return { input: known, invalid: (validate.errors ?? []).flatMap((error) => describe(error, known)) };
}

function describe(error: ErrorObject, input: Record<string, unknown>): InvalidField[] {
  const name = error.instancePath.replace(/^\//, '');
  const field = `input.${name}`;
  switch (error.keyword) {
    case 'required':
      return [{ type: 'required', field: 'input', description: `${String(error.params.missingProperty)} is required` }];
    case 'type': {
      const value = input[name];
      const given = typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : Array.isArray(value) ? 'array' : typeof value;
      return [{ type: 'invalid_type', field, description: `Invalid type. Expected: ${String(error.params.type)}, given: ${given}` }];
    }
    case 'enum': {
      const choices = (error.params.allowedValues as unknown[]).map((c) => JSON.stringify(c)).join(', ');
      // As api.replicate.com words it: `output_format must be one of the following: "jpg", "png"`.
      return [{ type: 'enum', field, description: `${name} must be one of the following: ${choices}` }];
    }
    case 'minimum':
      return [{ type: 'number_gte', field, description: `Must be greater than or equal to ${String(error.params.limit)}` }];
    case 'maximum':
      return [{ type: 'number_lte', field, description: `Must be less than or equal to ${String(error.params.limit)}` }];
    case 'format':
      return [{ type: 'format', field, description: `Does not match format '${String(error.params.format)}'` }];
    // `allOf` only wraps the enum error already reported.
    case 'allOf':
      return [];
    default:
      return [{ type: error.keyword, field, description: error.message ?? 'is invalid' }];
  }
}

/** The input with the schema's defaults filled in, as Cog calls `predict()`/`train()`. */
export function withDefaults(schema: OpenApiSchema, key: InputKey, input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema.components.schemas[key]?.properties ?? {})) {
    const value = input[name];
    out[name] = value === undefined || value === null ? property.default : value;
  }
  return out;
}

/** A copy of `schema` without some of its inputs: a model that lacks what kmplz sends. */
export function withoutInputs(schema: OpenApiSchema, key: InputKey, names: readonly string[]): OpenApiSchema {
  const input = schema.components.schemas[key] as JsonSchema;
  const properties = Object.fromEntries(Object.entries(input.properties ?? {}).filter(([name]) => !names.includes(name)));
  return { ...schema, components: { schemas: { ...schema.components.schemas, [key]: { ...input, properties } } } };
}
