import type { Translation } from '../catalog.js';
import type { publish as en } from '../en/publish.js';

/** Русский: /опубликовать. Ключи те же, что в `en/publish.ts` (это проверяет компилятор). */
export const publish: Translation<typeof en> = {
  'publish.created': 'Создан репозиторий модели **{repo}**.',
  'publish.done': 'Шаг {step} опубликован в **{repo}** одним коммитом (файлов: {files}): {url}',
  'publish.unchanged': 'Шаг {step} уже лежит в **{repo}** в точности таким, каким был бы опубликован: нового коммита нет. {url}',
};
