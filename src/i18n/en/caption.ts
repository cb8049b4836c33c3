/** English: /caption. Keys: `caption.*`. */
export const caption = {
  'caption.one.title': 'BLIP caption',
  'caption.one.description': 'As training would read it:\n> {text}',
  'caption.progress': 'Captioning {todo} drawings… {bar} {done}/{todo}',
  'caption.failed': 'These could not be captioned (run `/caption` again to retry them): {names}',
  'caption.modal.title': 'Caption of {name}',
  'caption.modal.label': 'Caption (the trigger word is kept in front)',
  'caption.saved': 'Saved the caption of **{name}**:\n> {text}',
  'caption.review.empty': 'The dataset is empty.',
  'caption.review.title': 'Captions — page {page} of {pages}',
  'caption.review.no-caption': '*no caption yet*',
  'caption.review.edit': 'Edit {name}',
  'caption.review.previous': '◀ Previous',
  'caption.review.next': 'Next ▶',
} as const;
