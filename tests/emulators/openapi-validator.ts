import { readFileSync } from 'node:fs';
import { OpenAPIBackend, type Request as OpenApiRequest } from 'openapi-backend';

/** One request as an emulator received it, body already parsed (JSON, or `payload_json` of a multipart body). */
export interface ReceivedRequest {
  method: string;
  /** Path relative to the spec's server URL, e.g. `/channels/123/messages` (no `/api/v10`, no query). */
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

export interface ValidationResult {
  operationId?: string;
  /** Empty when the spec accepts the request. */
  errors: string[];
}

/**
 * Validates requests against a vendor's pinned OpenAPI description.
 * `quick: true` because openapi-backend rejects Discord's spec in strict mode (tests/fixtures/specs/README.md);
 * schemas are still compiled per operation on first use.
 */
export class SpecValidator {
  private readonly api: OpenAPIBackend;
  private ready: Promise<void> | undefined;

  constructor(specPath: string) {
    const definition = JSON.parse(readFileSync(specPath, 'utf8'));
    this.api = new OpenAPIBackend({
      definition,
      quick: true,
      validate: true,
      // Both specs use formats Ajv does not know (Discord's `snowflake` above all). Check the
      // ones a bot gets wrong; stay quiet about the rest instead of printing a warning per schema.
      ajvOpts: { logger: false },
      customizeAjv: (ajv) => {
        ajv.addFormat('snowflake', /^(0|[1-9][0-9]{0,19})$/);
        ajv.addFormat('uri', { validate: (value: string) => URL.canParse(value) });
        return ajv;
      },
    });
  }

  init(): Promise<void> {
    this.ready ??= this.api.init().then(() => undefined);
    return this.ready;
  }

  async validate(request: ReceivedRequest): Promise<ValidationResult> {
    await this.init();
    const req: OpenApiRequest = {
      method: request.method.toLowerCase(),
      path: request.path,
      query: request.query,
      headers: normaliseHeaders(request.headers),
      body: request.body,
    };
    const operation = this.api.matchOperation(req);
    if (!operation) {
      return { errors: [`unknown route: ${request.method.toUpperCase()} ${request.path}`] };
    }
    const result = this.api.validateRequest(req, operation);
    const errors = (result.errors ?? []).map(
      (e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
    );
    return { operationId: operation.operationId, errors };
  }
}

function normaliseHeaders(headers: ReceivedRequest['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = value;
  }
  return out;
}

/** The vendors' descriptions, pinned inside the project (their sources and dates: the README beside them). */
const SPECS_DIR = new URL('../fixtures/specs/', import.meta.url);
export const discordSpecPath = new URL('discord-openapi.json', SPECS_DIR).pathname;
export const replicateSpecPath = new URL('replicate-openapi.json', SPECS_DIR).pathname;
