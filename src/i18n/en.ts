import { caption } from './en/caption.js';
import { common } from './en/common.js';
import { dataset } from './en/dataset.js';
import { errors } from './en/errors.js';
import { help } from './en/help.js';
import { kmplz } from './en/kmplz.js';
import { publish } from './en/publish.js';
import { showcase } from './en/showcase.js';
import { train } from './en/train.js';
import { training } from './en/training.js';
import { voting } from './en/voting.js';

/**
 * English: the reference catalog. Its keys are every user-facing text of the bot; `ru.ts` must
 * have the same ones. See `index.ts` for the `{name}` and `{count|one|other}` syntax.
 *
 * The texts live in one file per area (`en/<area>.ts`, each naming the key prefixes it holds), so
 * a new text is one line in the area it belongs to; a test checks that no key is in two areas and
 * that every area is merged here.
 */
export const en = {
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
} as const;
