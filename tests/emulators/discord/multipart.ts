/** One file part of a multipart request (`files[n]`), bytes kept so tests can decode them. */
export interface UploadedFile {
  /** The form field name, e.g. `files[0]`. */
  name: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface ParsedBody {
  /** JSON body, or the parsed `payload_json` part of a multipart body. */
  body?: unknown;
  files: UploadedFile[];
}

/** A body Discord itself would refuse before looking at its fields; carries Discord's error. */
export class MalformedBodyError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const INVALID_JSON = () => new MalformedBodyError(50109, 'The request body contains invalid JSON.');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw INVALID_JSON();
  }
}

/**
 * Parses what discord.js (and any other client) sends: JSON, or multipart/form-data with
 * `files[n]` parts and a `payload_json` part. Multipart is parsed by the runtime's own
 * `Response#formData()` (undici), so boundaries, quoting and binary parts follow the standard
 * rather than a hand-written parser. Plain form fields are merged into the body, as Discord
 * accepts them next to (and overridden by) `payload_json`.
 */
export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { files: [] };
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'multipart/form-data') {
    let form: FormData;
    try {
      form = await new Response(raw, { headers: { 'content-type': contentType ?? '' } }).formData();
    } catch {
      throw new MalformedBodyError(50035, 'Invalid Form Body');
    }
    const files: UploadedFile[] = [];
    const fields: Record<string, unknown> = {};
    let payload: unknown;
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') {
        if (name === 'payload_json') payload = parseJson(value);
        else fields[name] = value;
      } else {
        files.push({
          name,
          filename: value.name,
          contentType: value.type || 'application/octet-stream',
          data: Buffer.from(await value.arrayBuffer()),
        });
      }
    }
    const body =
      payload !== undefined && typeof payload === 'object' && payload !== null && !Array.isArray(payload)
        ? { ...fields, ...payload }
        : (payload ?? (Object.keys(fields).length > 0 ? fields : undefined));
    return { body, files };
  }
  if (type === 'application/json') return { body: parseJson(raw.toString('utf8')), files: [] };
  throw INVALID_JSON();
}
