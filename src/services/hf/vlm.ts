import type { InferenceClient } from '@huggingface/inference';
import { ServiceError } from '../types.js';

/**
 * What the vision-language model is asked. BLIP answers one plain phrase ("a girl in a hoodie
 * sitting on a bench"); the training captions are built from that (`KMPLZ, a drawing of …`,
 * src/captioning/clean.ts), so the VLM is asked for the same and nothing about style or medium,
 * which the trigger word is there to carry.
 */
export const CAPTION_PROMPT =
  'Write a caption for this picture the way an image-captioning model would: one short lowercase ' +
  'phrase, at most 20 words, saying what is shown (for example: a girl in a hoodie sitting on a bench). ' +
  'Do not mention the art style, the medium or the artist. Answer with the caption only.';

/**
 * One image through Inference Providers' chat completion: the image goes as a `data:` URL in an
 * `image_url` part, to the router's OpenAI-compatible `/v1/chat/completions`, which picks a
 * provider serving `model` (docs/services.md#what-hugging-face-serves-for-captions).
 */
export async function captionWithVlm(
  { client, model, fetch }: { client: InferenceClient; model: string; fetch?: typeof globalThis.fetch },
  image: { data: Buffer; contentType: string },
  signal?: AbortSignal,
): Promise<string> {
  const answer = await client.chatCompletion(
    {
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: CAPTION_PROMPT },
            { type: 'image_url', image_url: { url: `data:${image.contentType};base64,${image.data.toString('base64')}` } },
          ],
        },
      ],
      max_tokens: 60,
      temperature: 0,
    },
    // The client's own retry on 503 is immediate and endless; the caller backs off instead.
    { retry_on_error: false, fetch, signal },
  );
  const content = answer.choices[0]?.message?.content;
  const caption = typeof content === 'string' ? asPhrase(content) : '';
  if (caption === '') throw new ServiceError('failed', `${model} answered without a caption`);
  return caption;
}

/**
 * A chat model's answer as a captioner's phrase: its first line, without the quotes, a
 * "Caption:" label or the full stop chat models add ("A red square." → "A red square").
 */
export function asPhrase(answer: string): string {
  const line = answer.split('\n').map((part) => part.trim()).find((part) => part !== '') ?? '';
  return line
    .replace(/^caption\s*:\s*/i, '')
    .replace(/[.!]+$/, '')
    .replace(/^["'“‘`]+|["'”’`]+$/g, '')
    .replace(/[.!]+$/, '')
    .trim();
}
