import type { Catalog } from './catalog.js';
import { caption } from './ru/caption.js';
import { common } from './ru/common.js';
import { dataset } from './ru/dataset.js';
import { errors } from './ru/errors.js';
import { help } from './ru/help.js';
import { kmplz } from './ru/kmplz.js';
import { publish } from './ru/publish.js';
import { showcase } from './ru/showcase.js';
import { train } from './ru/train.js';
import { training } from './ru/training.js';
import { voting } from './ru/voting.js';

/**
 * Русский. Те же ключи, что в `en.ts` (это проверяет компилятор), обращение на «вы».
 * Команды и параметры названы так, как их показывает русский клиент Discord (`/датасет добавить`).
 * Множественное число: `{count|картинка|картинки|картинок}` — одна, две, пять.
 *
 * Тексты разложены по областям (`ru/<область>.ts`), у каждой те же ключи, что у `en/<область>.ts`.
 */
export const ru: Catalog = {
  ...common,
  ...errors,
  ...kmplz,
  ...dataset,
  ...caption,
  ...train,
  ...training,
  ...voting,
  ...showcase,
  ...help,
  ...publish,
};
