import type { Translation } from '../catalog.js';
import type { caption as en } from '../en/caption.js';

/** Русский: /подпись. Ключи те же, что в `en/caption.ts` (это проверяет компилятор). */
export const caption: Translation<typeof en> = {
  'caption.one.title': 'Подпись BLIP',
  'caption.one.description': 'Так её прочтёт обучение:\n> {text}',
  'caption.progress': 'Подписываю рисунки ({todo})… {bar} {done}/{todo}',
  'caption.failed': 'Эти рисунки подписать не удалось (запустите `/подпись` ещё раз, чтобы повторить): {names}',
  'caption.modal.title': 'Подпись: {name}',
  'caption.modal.label': 'Подпись (слово-триггер останется в начале)',
  'caption.saved': 'Подпись к **{name}** сохранена:\n> {text}',
  'caption.review.empty': 'Датасет пуст.',
  'caption.review.title': 'Подписи — страница {page} из {pages}',
  'caption.review.no-caption': '*подписи пока нет*',
  'caption.review.edit': 'Изменить {name}',
  'caption.review.previous': '◀ Назад',
  'caption.review.next': 'Дальше ▶',
};
