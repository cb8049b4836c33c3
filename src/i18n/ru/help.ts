import type { Translation } from '../catalog.js';
import type { help as en } from '../en/help.js';

/** Русский: /помощь. Ключи те же, что в `en/help.ts` (это проверяет компилятор). */
export const help: Translation<typeof en> = {
  'help.title': 'kmplz — научите модель стилю одного художника и играйте с ним вместе',
  'help.step.dataset': '1. `/датасет добавить` — рисунки художника (.zip или по одному); они обрезаются до квадратов для обучения.',
  'help.step.caption': '2. `/подпись` — BLIP описывает каждый рисунок как `{trigger}, a drawing of …`; любую подпись можно поправить кнопкой «Изменить».',
  'help.step.train': '3. `/обучить` — обучение на GPU-сервисе, превью каждого чекпоинта в ветке.',
  'help.step.vote': '4. голосование — кнопки под превью или `/голосовать`; `/чекпоинты` показывает, кто впереди.',
  'help.step.kmplz': '5. `/kmplz запрос:…` — картинки в этом стиле рядом с рисунком художника; `/сравнить` — разные настройки бок о бок.',
  'help.step.showcase': '6. ⭐ или `/витрина` — лучшие результаты в витрину класса.',
  'help.server': 'этот сервер',
  'help.server.drawings': 'в датасете **{count}** {count|рисунок|рисунка|рисунков}, с подписью — **{captioned}**',
  'help.server.training': 'последнее обучение: **{status}**, {count} {count|чекпоинт|чекпоинта|чекпоинтов}',
  'help.server.untrained': 'пока ничего не обучено',
  'help.server.active': '`/kmplz` рисует с **шагом {step}**',
  'help.server.waiting': '`/kmplz` ждёт обученного чекпоинта',
  'help.server.gpu': 'GPU в этом месяце: {spent} ({seconds} с)',
  'help.server.gpu.own': 'GPU: свой у класса (Cog-серверы {servers}), денег не тратит · {seconds} с в этом месяце',
  'help.server.gpu.budget': 'GPU в этом месяце: {spent} из {budget} ({seconds} с)',
};
