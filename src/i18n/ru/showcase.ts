import type { Translation } from '../catalog.js';
import type { showcase as en } from '../en/showcase.js';

/** Русский: /витрина. Ключи те же, что в `en/showcase.ts` (это проверяет компилятор). */
export const showcase: Translation<typeof en> = {
  'showcase.upload': 'Поделился(ась) <@{user}> · сделано в kmplz в стиле художника, чьи рисунки научили его {trigger}',
  'showcase.job': 'Автор — <@{user}>, сделано в kmplz · в стиле художника, чьи рисунки научили его {trigger}',
  'showcase.posted': '⭐ Отправлено в витрину: {url}',
};
