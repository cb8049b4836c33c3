import type { Translation } from '../catalog.js';
import type { dataset as en } from '../en/dataset.js';

/**
 * Русский: /датасет и приём файлов: почему файл не принят (`refusal.<code>…`, одна запись архива),
 * что не так с картинкой (`image.<code>…`, ImageError). Ключи те же, что в `en/dataset.ts` (это
 * проверяет компилятор).
 */
export const dataset: Translation<typeof en> = {
  'dataset.removed': '**{name}** удалён из датасета.',
  'dataset.already-empty': 'Датасет и так пуст.',
  'dataset.clear.question':
    'Удалить из датасета этого сервера все рисунки ({count}) вместе с подписями? Отменить это будет нельзя.',
  'dataset.clear.yes': 'Удалить все ({count})',
  'dataset.clear.no': 'Оставить',
  'dataset.clear.kept': 'Ничего не удалено.',
  'dataset.forget.question': 'Удалить **всё**, что kmplz хранит об этом сервере? {count} {count|рисунок|рисунка|рисунков} с оригиналами и подписями, все обучения с превью и голосами, картинки `/kmplz` и их запросы, отметки витрины. Останутся: расходы на GPU за месяц (для бюджета; чужих данных в них нет), сообщения, уже отправленные в Discord, и стиль, обученный в модели на Replicate. Отменить нельзя.',
  'dataset.forget.yes': 'Удалить всё',
  'dataset.forgotten': 'Удалено всё, что kmplz хранил об этом сервере ({records} {records|запись|записи|записей} и файлы).',
  'dataset.cleared': 'Удалено рисунков: {count}. Датасет пуст.',
  'dataset.added.title': 'Добавлено: {count} {count|рисунок|рисунка|рисунков}',
  'dataset.added.nothing': 'Ничего не добавлено',
  'dataset.added.description':
    'Теперь в датасете {total} {total|рисунок|рисунка|рисунков}. Дальше: `/подпись`, чтобы подписать их, затем `/обучить`.',
  'dataset.added.added': 'добавлены',
  'dataset.added.refused': 'не приняты ({count})',
  'dataset.added.warnings': 'предупреждения',
  'dataset.added.near-duplicates': 'почти одинаковые (оставлены; удалите один, если это тот же рисунок)',
  'dataset.list.empty':
    'Датасет пуст. Тренеры добавляют рисунки через `/датасет добавить архив:<zip>` или `/датасет добавить картинка:<рисунок>`.',
  'dataset.list.title': 'Датасет',
  'dataset.list.counts': 'рисунков: **{count}** · с подписью: **{captioned}** · с предупреждениями: **{warned}**',
  'refusal.unsafe_path.nul': 'в имени есть байт NUL',
  'refusal.unsafe_path.backslash': 'обратная косая черта в именах не принимается (пересоберите zip в Проводнике или Finder)',
  'refusal.absolute_path': 'абсолютные пути не принимаются',
  'refusal.path_traversal': '«..» в пути не принимается',
  'refusal.symlink': 'ссылки не принимаются',
  'refusal.special_file': 'принимаются только обычные файлы',
  'refusal.nested_archive': 'архивы внутри архива не принимаются',
  'refusal.encrypted': 'зашифрованные файлы не принимаются',
  'refusal.unsupported_compression': 'метод сжатия {method} не поддерживается (только deflate)',
  'refusal.entry_too_large': 'файл больше допустимых {limit}',
  'refusal.archive_too_large': 'в распакованном виде архив больше {limit}',
  'refusal.corrupt_entry': 'файл в архиве повреждён ({detail})',
  'refusal.corrupt_entry.size': 'файл в архиве повреждён ({actual} {actual|байт|байта|байт} вместо {expected})',
  'refusal.too_many_entries': 'в архиве {total} {total|запись|записи|записей}; прочитаны только первые {max}',
  'refusal.too_many_entries.name': 'ещё {count} {count|запись|записи|записей}',
  'refusal.dataset-full': 'датасет заполнен ({max} рисунков)',
  'refusal.not-a-picture': 'это не картинка (.zip добавляется через `/датасет добавить архив:`)',
  'image.not_an_image': 'это не картинка (или формат, который бот не читает)',
  'image.not_an_image.empty': 'файл пустой',
  'image.not_an_image.to-send': 'картинку для отправки не удаётся прочитать',
  'image.unsupported_format': 'файлы {format} не принимаются: пришлите PNG, JPEG или WebP',
  'image.unsupported_format.heic': 'фото HEIC здесь не читаются: сохраните картинку как JPEG или PNG',
  'image.too_many_pixels': '{width}×{height} — это {megapixels} Мп, больше допустимых {limit} Мп',
  'image.truncated_or_corrupt': 'картинка обрезана или повреждена ({detail})',
  'image.truncated_or_corrupt.header': 'картинка повреждена: её заголовок не читается',
  'image.truncated_or_corrupt.hash': 'не удаётся вычислить хеш картинки ({detail})',
  'image.truncated_or_corrupt.generated': 'сгенерированную картинку не удаётся прочитать ({detail})',
  'image.truncated_or_corrupt.reference': 'рисунок автора не удаётся прочитать ({detail})',
  'image.truncated_or_corrupt.to-send': 'картинка для отправки повреждена',
  'image.cannot_fit': 'картинку не удаётся уместить в {limit} даже как JPEG в {side} пикселей',
  // Предупреждения: картинка принята, но тренеру стоит знать.
  'image.small': 'маленький: {width}×{height}, короткая сторона меньше {min} px',
  'image.small.enlarged': 'маленький: {width}×{height}, короткая сторона меньше {min} px; увеличенный до {size}×{size}, он будет выглядеть размыто',
};
