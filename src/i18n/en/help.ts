/** English: /help. Keys: `help.*`. */
export const help = {
  'help.title': 'kmplz — teach an image model one artist’s style, then play with it together',
  'help.step.dataset': '1. `/dataset add` — the artist’s drawings in (a .zip or single images); they are cropped to training squares.',
  'help.step.caption': '2. `/caption` — BLIP describes each drawing as `{trigger}, a drawing of …`; fix any caption with Edit.',
  'help.step.train': '3. `/train` — training on the GPU service, with a preview of every checkpoint in a thread.',
  'help.step.vote': '4. vote — the buttons under the previews, or `/vote`; `/checkpoints` shows the standings.',
  'help.step.kmplz': '5. `/kmplz prompt:…` — pictures in the style, next to the artist’s drawing; `/compare` for side-by-side settings.',
  'help.step.showcase': '6. ⭐ or `/showcase` — the best results to the class showcase.',
  'help.server': 'this server',
  'help.server.drawings': '**{count}** drawings in the dataset, **{captioned}** captioned',
  'help.server.training': 'last training: **{status}**, {count} {count|checkpoint|checkpoints}',
  'help.server.untrained': 'nothing trained yet',
  'help.server.active': '`/kmplz` draws with **step {step}**',
  'help.server.waiting': '`/kmplz` is waiting for a trained checkpoint',
  'help.server.gpu': 'GPU this month: {spent} ({seconds} s)',
  'help.server.gpu.own': 'GPU: the class’s own (Cog servers at {servers}), no money spent · {seconds} s this month',
  'help.server.gpu.budget': 'GPU this month: {spent} of {budget} ({seconds} s)',
} as const;
