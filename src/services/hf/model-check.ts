import type { BotEventBus } from '../../events.js';
import type { Logger } from '../../log.js';

export type CaptionModelCheck =
  | { ok: true; providers: string[] }
  | { ok: false; reason: string }
  /** The Hub could not be asked; nothing is known. */
  | { ok: undefined; reason: string };

/**
 * Whether an Inference Provider serves `HF_CAPTION_MODEL` for chat completion and whether it is
 * a vision-language model at all, from the Hub's model page
 * (`?expand[]=inferenceProviderMapping&expand[]=pipeline_tag`; the mapping is an object keyed by
 * provider there, a list elsewhere). Called at start, after the gateway login and without
 * holding anything up: a wrong model is said in the log at once instead of at the first caption.
 */
export async function checkCaptionModel({
  model,
  token,
  hubUrl,
  fetch = globalThis.fetch,
}: {
  model: string;
  token: string;
  /** `HF_HUB_URL`: the Hub kmplz was configured with (a mirror, or an emulator in tests). */
  hubUrl: string;
  fetch?: typeof globalThis.fetch;
}): Promise<CaptionModelCheck> {
  const [id = model, wanted] = model.split(':');
  let page: { pipeline_tag?: unknown; inferenceProviderMapping?: unknown };
  try {
    const response = await fetch(`${hubUrl.replace(/\/+$/, '')}/api/models/${id}?expand[]=inferenceProviderMapping&expand[]=pipeline_tag`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status === 404) return { ok: false, reason: 'the Hub has no such model' };
    if (!response.ok) return { ok: undefined, reason: `the Hub answered ${response.status}` };
    page = (await response.json()) as typeof page;
  } catch (error) {
    return { ok: undefined, reason: (error as Error).message };
  }
  if (page.pipeline_tag !== 'image-text-to-text') {
    return { ok: false, reason: `it is not a vision-language model (its task is ${String(page.pipeline_tag ?? 'unknown')})` };
  }
  const providers = mappings(page.inferenceProviderMapping)
    .filter((m) => m.task === 'conversational' && m.status === 'live' && (wanted === undefined || m.provider === wanted || !isProviderName(wanted)))
    .map((m) => m.provider);
  return providers.length > 0 ? { ok: true, providers } : { ok: false, reason: 'no Inference Provider serves it' };
}

/** Logs what checkCaptionModel found, and a model that cannot caption as a config warning; never throws. */
export async function reportCaptionModel(options: Parameters<typeof checkCaptionModel>[0], log: Logger, events: Pick<BotEventBus, 'emit'>): Promise<void> {
  const result = await checkCaptionModel(options);
  if (result.ok === true) log.info({ model: options.model, providers: result.providers }, 'HF_CAPTION_MODEL is served by Inference Providers');
  else if (result.ok === false) {
    const message = `HF_CAPTION_MODEL ${options.model} cannot caption: ${result.reason}; /caption will refuse until HF_CAPTION_MODEL names a vision-language model that a provider serves, or HF_CAPTION_ENDPOINT is set`;
    log.warn({ key: 'HF_CAPTION_MODEL', model: options.model, reason: result.reason }, message);
    events.emit('config.warning', { key: 'HF_CAPTION_MODEL', value: options.model, message });
  } else log.info({ model: options.model, reason: result.reason }, 'could not check HF_CAPTION_MODEL on the Hub');
}

type Mapping = { provider: string; task?: unknown; status?: unknown };

function mappings(value: unknown): Mapping[] {
  if (Array.isArray(value)) return value.filter((m): m is Mapping => typeof (m as Mapping)?.provider === 'string');
  if (value && typeof value === 'object') return Object.entries(value).map(([provider, m]) => ({ provider, ...(m as object) }));
  return [];
}

/** `:fastest`, `:cheapest` and `:preferred` are the router's policies, not providers. */
function isProviderName(suffix: string): boolean {
  return !['fastest', 'cheapest', 'preferred'].includes(suffix);
}
