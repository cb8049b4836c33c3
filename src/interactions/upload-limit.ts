/** Discord's per-file upload limit for a server without boosts. */
export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

/**
 * The upload limit of the server an interaction came from. Interactions carry the real figure
 * (`attachment_size_limit`, higher for boosted servers); Discord's default covers any that lack it.
 */
export function uploadLimitOf(interaction: { attachmentSizeLimit?: number | null }): number {
  return interaction.attachmentSizeLimit || DEFAULT_UPLOAD_LIMIT;
}
