import {
  MessageFlags,
  type InteractionEditReplyOptions,
  type InteractionReplyOptions,
  type RepliableInteraction,
} from 'discord.js';

export type ReplyPayload = Omit<InteractionReplyOptions, 'flags'> & InteractionEditReplyOptions;

/**
 * Answers an interaction whatever state it is in: a first reply, an edit of the deferred reply,
 * or a follow-up once something was already said. Commands call this instead of choosing among
 * reply/editReply/followUp, so a change of `defer` never breaks them.
 */
export async function respond(
  interaction: RepliableInteraction,
  payload: ReplyPayload,
  { ephemeral = false }: { ephemeral?: boolean } = {},
): Promise<void> {
  // discord.js marks a deferred interaction `replied` after its first edit; later answers must
  // still edit that same message rather than pile up follow-ups.
  if (interaction.deferred && !isDeferredUpdate(interaction)) {
    await interaction.editReply(payload);
  } else if (interaction.deferred || interaction.replied) {
    await interaction.followUp({ ...payload, flags: ephemeral ? MessageFlags.Ephemeral : undefined });
  } else {
    await interaction.reply({ ...payload, flags: ephemeral ? MessageFlags.Ephemeral : undefined });
  }
}

/**
 * Says something to the caller alone. A public deferred reply ("kmplz is thinking…") cannot be
 * turned ephemeral, so it is removed and the message goes out as an ephemeral follow-up: an error
 * about one person's input should not land in the busy group chat.
 */
export async function respondPrivately(interaction: RepliableInteraction, payload: ReplyPayload): Promise<void> {
  if (interaction.deferred && !isDeferredUpdate(interaction)) {
    if (interaction.ephemeral) {
      await interaction.editReply(payload);
      return;
    }
    // Only the empty "thinking…" placeholder is removed; a reply that already shows something stays.
    if (!interaction.replied) await interaction.deleteReply().catch(() => undefined);
    await interaction.followUp({ ...payload, flags: MessageFlags.Ephemeral });
    return;
  }
  await respond(interaction, payload, { ephemeral: true });
}

const deferredUpdates = new WeakSet<RepliableInteraction>();

/**
 * Acknowledges within Discord's 3 seconds. `'update'` (buttons, modals from a message) keeps the
 * clicked message as it is for now; its later `editReply` would edit that message, so `respond`
 * answers such interactions with a follow-up instead.
 */
export async function acknowledge(interaction: RepliableInteraction, mode: 'public' | 'ephemeral' | 'update'): Promise<void> {
  if (interaction.deferred || interaction.replied) return;
  if (mode === 'update') {
    if (!interaction.isMessageComponent() && !interaction.isModalSubmit()) throw new Error('only components can defer an update');
    await interaction.deferUpdate();
    deferredUpdates.add(interaction);
    return;
  }
  await interaction.deferReply(mode === 'ephemeral' ? { flags: MessageFlags.Ephemeral } : {});
}

/**
 * Marks the interaction as `acknowledge` would, without calling Discord: another process
 * acknowledged it and died before it was done, and this one carries on by editing that reply.
 * Mirrors what discord.js records after a successful defer.
 */
export function assumeAcknowledged(interaction: RepliableInteraction, mode: 'public' | 'ephemeral' | 'update'): void {
  interaction.deferred = true;
  if (mode === 'update') deferredUpdates.add(interaction);
  else interaction.ephemeral = mode === 'ephemeral';
}

function isDeferredUpdate(interaction: RepliableInteraction): boolean {
  return deferredUpdates.has(interaction);
}
