import type { Translation } from '../catalog.js';
import type { common as en } from '../en/common.js';

/**
 * Русский: общие слова, длительности и стоимость, названия параметров и что не так со значением
 * параметра, единицы. Ключи те же, что в `en/common.ts` (это проверяет компилятор).
 */
export const common: Translation<typeof en> = {
  'common.and': 'и',
  'common.none': 'нет',
  'common.step': 'шаг {step}',
  'common.checkpoint-letter': 'чекпоинт {label}',
  'common.votes': '{count} {count|голос|голоса|голосов}',
  'common.cancel': 'Отмена',
  'common.done-at': 'готово {when}',
  'common.estimated': '(по оценке {usd})',
  'common.no-reason': 'причина не указана',
  'duration.seconds': '{s} с',
  'duration.minutes': '{m} мин {s} с',
  'duration.hours': '{h} ч {m} мин',
  'cost.gpu': '{duration} работы GPU ≈ {usd}',
  'field.options': 'параметры',
  'field.prompt': 'запрос',
  'field.steps': 'шаги',
  'field.guidance': 'точность',
  'field.strength': 'сила',
  'field.negative': 'исключить',
  'field.seed': 'сид',
  'field.width': 'ширина',
  'field.height': 'высота',
  'field.size': 'размер',
  'field.checkpoint': 'чекпоинт',
  'field.checkpoint_every': 'чекпоинт_каждые',
  'field.vote_minutes': 'минут_на_голосование',
  'option.not-an-object': 'Параметры не переданы или испорчены.',
  'option.not-a-number': '{field}: нужно число от {min} до {max}.',
  'option.not-an-integer': '{field}: нужно целое число от {min} до {max}.',
  'option.out-of-range': '{field}: допустимо от {min} до {max}.',
  'option.not-a-multiple': '{field}: нужно число, кратное {multiple} (от {min} до {max}).',
  'unit.mib': '{size} МиБ',
  'unit.kib': '{size} КиБ',
};
