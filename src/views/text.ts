/** A text cut to Discord's limit for its place (an embed title 256, a field 1024…), marked as cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
