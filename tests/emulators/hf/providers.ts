import { randomUUID } from 'node:crypto';
import { describeImage } from '../replicate/images.js';

/**
 * The Hub's model pages and the Inference Providers router, as @huggingface/inference 4.13.30
 * meets them (node_modules/@huggingface/inference/src):
 *
 * - `lib/getInferenceProviderMapping.ts`: `imageToText({ model })` with no endpoint asks
 *   `GET https://huggingface.co/api/models/{id}?expand[]=inferenceProviderMapping` (no token) and
 *   takes the first provider; none → `No Inference Provider available for model {id}.`
 * - `tasks/nlp/chatCompletion.ts` + `providers/providerHelper.ts` (`AutoRouterConversationalTask`):
 *   `chatCompletion({ model })` with no provider skips the Hub and POSTs to
 *   `https://router.huggingface.co/v1/chat/completions` with `Bearer hf_…`; the router picks the
 *   provider. The answer must have `id`, `created`, `model`, `choices` and `usage`
 *   (`BaseConversationalTask.getResponse`).
 */

export interface ProviderMapping {
  provider: string;
  providerId: string;
  task: 'conversational' | 'image-to-text';
}

export interface HubModel {
  /** The model's task on the Hub: `image-text-to-text` for a VLM, `image-to-text` for BLIP. */
  pipelineTag: string;
  providers: ProviderMapping[];
}

/**
 * What the Hub maps, as of 2026. BLIP: no provider at all (open requests for it in
 * huggingface/InferenceSupport). The default VLM (src/config.ts DEFAULT_HF_CAPTION_MODEL): its
 * providers as hub-docs' `docs/inference-providers/tasks/chat-completion.md` and
 * `image-text-to-text.md` list them.
 */
export const HUB_MODELS: Record<string, HubModel> = {
  'Salesforce/blip-image-captioning-large': { pipelineTag: 'image-to-text', providers: [] },
  'Salesforce/blip-image-captioning-base': { pipelineTag: 'image-to-text', providers: [] },
  'meta-llama/Llama-4-Scout-17B-16E-Instruct': {
    pipelineTag: 'image-text-to-text',
    providers: [
      { provider: 'groq', providerId: 'meta-llama/llama-4-scout-17b-16e-instruct', task: 'conversational' },
      { provider: 'together', providerId: 'meta-llama/Llama-4-Scout-17B-16E-Instruct', task: 'conversational' },
    ],
  },
  'Qwen/Qwen2.5-VL-7B-Instruct': {
    pipelineTag: 'image-text-to-text',
    providers: [{ provider: 'hyperbolic', providerId: 'Qwen/Qwen2.5-VL-7B-Instruct', task: 'conversational' }],
  },
  // A text-only chat model: served, but it cannot see the picture.
  'meta-llama/Llama-3.1-8B-Instruct': {
    pipelineTag: 'text-generation',
    providers: [{ provider: 'cerebras', providerId: 'llama3.1-8b', task: 'conversational' }],
  },
};

type Reply = { status: number; body: unknown };

/**
 * `GET /api/models/{owner}/{name}`. The model-page endpoint answers the mapping as an object
 * keyed by provider (`{}` when none serves the model); lists of models answer an array
 * (huggingface_hub `hf_api.py`, `ModelInfo.__init__`: "API returns a dict on model_info and a
 * list on list_models"). An unknown repository: 404 `{"error": "Repository not found"}`.
 */
export function hubModel(models: Record<string, HubModel>, id: string): Reply {
  const model = models[id];
  if (!model) return { status: 404, body: { error: 'Repository not found' } };
  const inferenceProviderMapping = Object.fromEntries(
    model.providers.map(({ provider, providerId, task }) => [provider, { status: 'live', providerId, task }]),
  );
  return { status: 200, body: { _id: id.replace(/\W/g, '').slice(0, 24), id, pipeline_tag: model.pipelineTag, inferenceProviderMapping } };
}

/**
 * `POST /v1/chat/completions` on the router. A model no enabled provider serves (BLIP, a typo)
 * gets the router's 400 (quoted in cline/cline#5098 and n4ze3m/page-assist#727, OpenAI's error
 * shape). A served VLM describes the `data:` image it was sent, the way a chat model answers: a
 * capitalised sentence with a full stop ("A drawing of a red square.").
 */
export async function chatCompletion(models: Record<string, HubModel>, body: unknown): Promise<Reply> {
  const request = body as { model?: unknown; messages?: unknown } | undefined;
  const requested = typeof request?.model === 'string' ? request.model : '';
  const [id = '', provider] = requested.split(':');
  const mapping = (models[id]?.providers ?? []).find((m) => m.task === 'conversational' && (provider === undefined || m.provider === provider));
  if (!mapping) {
    return {
      status: 400,
      body: {
        error: {
          message: `The requested model '${requested}' is not supported by any provider you have enabled.`,
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_supported',
        },
      },
    };
  }
  const image = imageOf(request?.messages);
  if (!image) return invalid('messages: a user message with an image_url part holding a base64 data: URL is required');
  // Providers word this differently; what matters is that a text-only model cannot caption.
  if (models[id]?.pipelineTag !== 'image-text-to-text') return invalid(`${id} does not accept image inputs`);
  let caption: string;
  try {
    caption = (await describeImage(image)).caption;
  } catch {
    return invalid('image_url: the image could not be decoded');
  }
  const content = `${caption[0]?.toUpperCase()}${caption.slice(1)}.`;
  return {
    status: 200,
    body: {
      id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: mapping.providerId,
      system_fingerprint: null,
      choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 812, completion_tokens: 9, total_tokens: 821 },
    },
  };
}

function invalid(message: string): Reply {
  return { status: 400, body: { error: { message, type: 'invalid_request_error', param: null, code: null } } };
}

/** The bytes of the last user message's `image_url` part, when it is a base64 `data:` URL. */
function imageOf(messages: unknown): Buffer | undefined {
  if (!Array.isArray(messages)) return undefined;
  const user = [...messages].reverse().find((m) => (m as { role?: unknown }).role === 'user') as { content?: unknown } | undefined;
  const parts = Array.isArray(user?.content) ? user.content : [];
  const part = parts.find((p) => (p as { type?: unknown }).type === 'image_url') as { image_url?: { url?: unknown } } | undefined;
  const url = part?.image_url?.url;
  const match = typeof url === 'string' ? /^data:image\/[\w.+-]+;base64,(.+)$/s.exec(url) : null;
  return match?.[1] ? Buffer.from(match[1], 'base64') : undefined;
}
