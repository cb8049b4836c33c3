/**
 * A value to pre-fill into a modal's text input. Discord refuses the whole modal when a pre-filled
 * `value` is longer than the input's own `max_length` (50035; the modal never opens), so a stored
 * text that grew past it (a caption edited to 300 characters gets the trigger word put in front)
 * is cut to fit: at the last space within the limit when there is one, never inside a character
 * that takes two UTF-16 units. The person sees the cut text in the modal before saving it.
 */
export function prefill(value: string, maxLength: number): string {
  if (value.length <= maxLength) return value;
  let cut = '';
  for (const char of value) {
    if (cut.length + char.length > maxLength) break;
    cut += char;
  }
  const space = cut.lastIndexOf(' ');
  // A space near the end: cut there rather than mid-word; a long run without one is cut as is.
  return (space >= maxLength * 0.8 ? cut.slice(0, space) : cut).trimEnd();
}
