import type { Attachment } from 'discord.js';
import type { BotContext } from '../../src/context.js';
import { downloadAttachment } from '../../src/dataset/intake/download.js';
import { IntakeError } from '../../src/dataset/intake/refusal.js';
import { UserError } from '../../src/errors.js';
import { msg } from '../../src/i18n/index.js';
import { probeImage } from '../../src/images/preprocess.js';

/** Caps on what one command downloads: a class's zip of drawings, not a photo library. */
export const INTAKE_LIMITS = {
  archiveBytes: 200 * 1024 * 1024,
  imageBytes: 40 * 1024 * 1024,
  timeoutMs: 60_000,
  zip: { maxEntries: 500, maxEntryBytes: 50 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024 },
};

/** A file attached to an interaction, as far as kmplz reads it (a slash option or a message's attachment). */
export type AttachedFile = Pick<Attachment, 'name' | 'url' | 'size'> & { contentType?: string | null };

/**
 * Downloads an attachment from an allowed host, refusing one over `maxBytes` before asking for it.
 * Fails with an IntakeError: the caller decides whether it sinks the command or one file of many.
 */
export async function fetchAttached(ctx: BotContext, attachment: AttachedFile, maxBytes: number): Promise<Buffer> {
  if (attachment.size > maxBytes) throw new IntakeError('too_large', msg('error.too_large', { name: attachment.name, mib: Math.floor(maxBytes / 1024 / 1024) }));
  return downloadAttachment(attachment.url, { allowedHosts: ctx.config.ALLOWED_ATTACHMENT_HOSTS, maxBytes, timeoutMs: INTAKE_LIMITS.timeoutMs });
}

/** fetchAttached for a file the whole command depends on: a failure is the command's refusal. */
export function downloadAttached(ctx: BotContext, attachment: AttachedFile, maxBytes: number): Promise<Buffer> {
  return fetchAttached(ctx, attachment, maxBytes).catch(asUserError);
}

/**
 * Downloads a picture that something is about to be done with (captioned, posted) and decodes it
 * in full first, with the dataset intake's own checks (probeImage shares them with
 * preprocessImage): a header-only read takes a PNG cut in half, which BLIP then fails on after
 * the prediction is billed. A picture that does not decode is refused with the reason, before
 * any call is made.
 */
export async function downloadPicture(ctx: BotContext, attachment: AttachedFile): Promise<Buffer> {
  const data = await downloadAttached(ctx, attachment, INTAKE_LIMITS.imageBytes);
  const probe = await probeImage(data);
  if (!probe.ok) {
    ctx.log.info({ name: attachment.name, code: probe.code }, 'refused a picture that does not decode');
    throw new UserError('bad-picture', msg('error.bad-picture', { name: attachment.name, reason: probe.text }));
  }
  return data;
}

/** An intake failure of the whole file (download, archive) as the refusal its caller reads. */
export function asUserError(error: unknown): never {
  if (error instanceof IntakeError) throw new UserError(error.code, error.text);
  throw error;
}
