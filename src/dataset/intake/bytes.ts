import { msg, type Message } from '../../i18n/index.js';

/** A byte count as the user reads it in a refusal: "25 MiB", "300 KiB" (a parameter of a message). */
export function formatBytes(bytes: number): Message {
  if (bytes >= 1024 * 1024) return msg('unit.mib', { size: Number((bytes / (1024 * 1024)).toFixed(1)) });
  return msg('unit.kib', { size: Math.ceil(bytes / 1024) });
}
