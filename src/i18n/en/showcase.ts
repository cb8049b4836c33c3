/** English: /showcase. Keys: `showcase.*`. */
export const showcase = {
  'showcase.upload': 'Shared by <@{user}> · made with kmplz in the style of the artist whose drawings taught it {trigger}',
  'showcase.job': 'Made by <@{user}> with kmplz · in the style of the artist whose drawings taught it {trigger}',
  'showcase.posted': '⭐ Posted to the showcase: {url}',
} as const;
