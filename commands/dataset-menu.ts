import type { BotContext } from '../src/context.js';
import { loadDataset } from '../src/dataset/dataset.js';
import { UserError } from '../src/errors.js';
import { localeOf, msg } from '../src/i18n/index.js';
import type { MessageMenuCommand } from '../src/interactions/command.js';
import { respond } from '../src/interactions/respond.js';
import { addToDatasetMenuDefinition } from './definitions.js';
import { addAttachments, describeAddition } from './shared/dataset-add.js';

/**
 * "Add to kmplz dataset" on a message: every attachment of that message goes through the same
 * intake as `/dataset add image:` (checked, decoded in full, turned upright, cropped). Discord
 * sends the message, attachments and all, with the interaction, so nothing is fetched from the
 * channel (the bot needs neither Read Message History nor the Message Content intent for it).
 */
export const addToDatasetMenu: MessageMenuCommand = {
  data: addToDatasetMenuDefinition,
  guards: ['guild', 'trainer'],
  defer: 'ephemeral',
  async execute(interaction, ctx: BotContext, { guildId }) {
    const images = [...interaction.targetMessage.attachments.values()];
    if (images.length === 0) throw new UserError('nothing-to-add', msg('error.nothing-to-add.message'));
    const report = await addAttachments(ctx, guildId, interaction.user.id, { images });
    const total = (await loadDataset(ctx.store, guildId)).images.length;
    ctx.log.info({ messageId: interaction.targetId, added: report.added.length, refused: report.refused.length }, 'added the pictures of a message');
    await respond(interaction, { embeds: [describeAddition(report, total, localeOf(interaction))] });
  },
};
