import { PermissionFlagsBits, type Interaction } from 'discord.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import { msg } from '../i18n/index.js';

/**
 * Trainers may change the dataset, spend GPU money on training and override the class vote:
 * members holding `TRAINER_ROLE_ID`, and anyone with Manage Server.
 */
export function isTrainer(interaction: Interaction, config: Config): boolean {
  if (!interaction.inGuild()) return false;
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return true;
  if (!config.TRAINER_ROLE_ID) return false;
  const roles = interaction.member.roles;
  return Array.isArray(roles) ? roles.includes(config.TRAINER_ROLE_ID) : roles.cache.has(config.TRAINER_ROLE_ID);
}

export function requireTrainer(interaction: Interaction, config: Config): void {
  if (isTrainer(interaction, config)) return;
  throw new UserError('not-a-trainer', config.TRAINER_ROLE_ID ? msg('error.not-a-trainer.role', { role: config.TRAINER_ROLE_ID }) : msg('error.not-a-trainer'));
}

/** Every dataset, training and vote belongs to one server; direct messages have none of them. */
export function requireGuildId(interaction: Interaction): string {
  if (!interaction.inGuild()) throw new UserError('guild-only', msg('error.guild-only'));
  return interaction.guildId;
}
