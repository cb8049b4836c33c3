import type { Translation } from '../catalog.js';
import type { kmplz as en } from '../en/kmplz.js';

/**
 * Русский: /kmplz и /сравнить: ответ по ходу дела. Ключи те же, что в `en/kmplz.ts` (это проверяет
 * компилятор).
 */
export const kmplz: Translation<typeof en> = {
  'kmplz.note.truncated': '✂️ Запрос длиннее, чем модель читает (около 75 токенов): конец обрезан.',
  'kmplz.note.truncated-short': '✂️ Запрос длиннее, чем модель читает: конец обрезан.',
  'kmplz.note.reused': '♻️ Тот же запрос, настройки и сид, что у прежней картинки: вот она снова, GPU не потрачен.',
  'kmplz.lost': '⚠️ kmplz несколько раз перезапускался, пока рисовал эту картинку, и сдался. Попросите ещё раз.',
  'kmplz.queued.next': '⏳ Вы следующий в очереди.',
  'kmplz.queued': '⏳ Вы #{position} в очереди.',
  'kmplz.queued.own-gpu': 'Свой GPU класса рисует по одной картинке на каждом из генераторов ({servers}); ваша начнётся, когда один освободится.',
  'kmplz.drawing': '🎨 Рисую…',
  'kmplz.drawing.cell': '🎨 Рисую {index} из {total} ({axis} {value})…',
  'kmplz.canceled': 'Отменено.',
  'kmplz.canceled.nothing-spent': 'Отменено. Ничего не нарисовано, ничего не потрачено.',
  'kmplz.already-finished': 'Эта картинка уже готова.',
  'kmplz.varies': 'меняется',
  'kmplz.compare.title': 'Сравнение, {axis}: {values}',
  'kmplz.footer': 'слева: {trigger} на шаге {step} · справа: {reference}, рисунок автора',
  'kmplz.footer.no-reference': 'в датасете пока нет рисунков для сравнения',
  'kmplz.button.again': 'Ещё раз',
  'kmplz.button.showcase': 'В витрину',
  'kmplz.button.params': 'Параметры',
  'kmplz.button.delete': 'Удалить',
  'kmplz.params.title': 'Параметры',
  'kmplz.params.again': 'Чтобы повторить:',
  'kmplz.params.asked-by': 'заказал(а)',
  'kmplz.params.status': 'статус',
  'kmplz.status.queued': 'в очереди',
  'kmplz.status.running': 'рисуется',
  'kmplz.status.succeeded': 'готово',
  'kmplz.status.failed': 'ошибка',
  'kmplz.status.canceled': 'отменено',
  'kmplz.failure.internal': 'Картинку не удалось сделать из-за ошибки на стороне kmplz. Попробуйте чуть позже.',
  'kmplz.failure.nsfw': 'Фильтр безопасности заблокировал эту картинку («NSFW content detected»). Попробуйте другой запрос.',
  'kmplz.failure.throttled': 'GPU-сервис перегружен и попросил kmplz притормозить. Попробуйте через минуту.',
  'kmplz.failure.timeout': 'Картинка рисовалась слишком долго и была остановлена. Попробуйте снова — может быть, с меньшим числом шагов.',
  'kmplz.failure.unavailable': 'У GPU-сервиса сейчас проблемы. Попробуйте через несколько минут.',
  'kmplz.failure.failed': 'Картинку не удалось сделать: {detail}',
};
