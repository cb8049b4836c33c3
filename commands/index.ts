import { definitionsOf, type SlashCommand } from '../src/interactions/command.js';
import { caption } from './caption.js';
import { checkpoints } from './checkpoints.js';
import { compare } from './compare.js';
import { dataset } from './dataset.js';
import { help } from './help.js';
import { kmplz } from './kmplz.js';
import { publish } from './publish.js';
import { showcase } from './showcase.js';
import { train } from './train.js';
import { vote } from './vote.js';

/** Every command the bot handles; `npm run deploy` registers exactly these definitions (and their context menus). */
export const allCommands: readonly SlashCommand[] = [kmplz, dataset, caption, train, vote, checkpoints, compare, showcase, publish, help];

export const commandDefinitions = definitionsOf(allCommands);
