/** A byte count as the user reads it in a refusal: "25 MiB", "300 KiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MiB`;
  return `${Math.ceil(bytes / 1024)} KiB`;
}
