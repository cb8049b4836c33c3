import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  MessageContextMenuCommandInteraction,
  ModalSubmitInteraction,
  RESTPostAPIApplicationCommandsJSONBody,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from 'discord.js';
import type { BotContext } from '../context.js';
import type { Granted, Guards } from './guards.js';

/**
 * How a command answers the 3-second rule: Discord drops an interaction that is not acknowledged
 * within 3 s (error 10062). Anything that touches the network, the store or the disk for more
 * than a moment declares `defer`, and the dispatcher acknowledges before `execute` runs.
 * `'ephemeral'` when the answer is for the caller alone.
 */
export type DeferMode = 'public' | 'ephemeral' | 'none';

export type ComponentInteraction = ButtonInteraction | ModalSubmitInteraction;

/**
 * A handler for buttons and modals whose `custom_id` is `<command>:<action>:<args…>`. Ids carry
 * what the handler needs (a job id, a step), so they keep working after a restart.
 */
export interface ComponentHandler {
  /** Checked by the dispatcher once the click is acknowledged: a button can be forged or outlive a role. */
  guards: Guards;
  defer?: DeferMode | 'update';
  execute(interaction: ComponentInteraction, args: readonly string[], ctx: BotContext, granted: Granted): Promise<void>;
}

/**
 * Background work a command hands over (see TaskRunner): it runs in one process, outlives the
 * interaction, and with Redis is taken over by another process if its own dies.
 */
export type CommandTask = (data: unknown, run: { signal: AbortSignal; takenOver: boolean }, ctx: BotContext) => Promise<void>;

export interface SlashCommand {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  /** Chosen per interaction because subcommands of one command differ (a modal cannot follow a defer). */
  defer(interaction: ChatInputCommandInteraction): DeferMode;
  /**
   * Checked by the dispatcher once the interaction is acknowledged, before `execute`. A function
   * where subcommands (or options) differ, as `defer`: `/dataset list` is for everyone, the rest for trainers.
   */
  guards: Guards | ((interaction: ChatInputCommandInteraction) => Guards);
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext, granted: Granted): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void>;
  components?: Readonly<Record<string, ComponentHandler>>;
  /** Task kinds this command starts with `ctx.tasks.start(kind, …)`; kinds are unique across commands. */
  tasks?: Readonly<Record<string, CommandTask>>;
  /** Message context-menu commands (right-click a message → Apps) that do this command's work. */
  menus?: readonly MessageMenuCommand[];
}

/**
 * A message context-menu command: Discord sends it with the message it was used on (its
 * attachments included) in `data.resolved.messages`. Its name is what the menu shows.
 */
export interface MessageMenuCommand {
  data: RESTPostAPIContextMenuApplicationCommandsJSONBody;
  guards: Guards;
  defer: DeferMode;
  execute(interaction: MessageContextMenuCommandInteraction, ctx: BotContext, granted: Granted): Promise<void>;
}

/** Everything the commands register with Discord: each slash command and its context menus. */
export function definitionsOf(commands: readonly SlashCommand[]): RESTPostAPIApplicationCommandsJSONBody[] {
  return commands.flatMap((command) => [command.data, ...(command.menus ?? []).map((menu) => menu.data)]);
}

const CUSTOM_ID_LIMIT = 100;

/** Builds a `custom_id`; Discord refuses ids over 100 characters, so this throws rather than ship a dead button. */
export function customId(command: string, action: string, ...args: (string | number)[]): string {
  const id = [command, action, ...args.map(String)].join(':');
  if (id.length > CUSTOM_ID_LIMIT) throw new Error(`custom_id over ${CUSTOM_ID_LIMIT} characters: ${id}`);
  return id;
}

export function parseCustomId(id: string): { command: string; action: string; args: string[] } | undefined {
  const [command, action, ...args] = id.split(':');
  if (!command || !action) return undefined;
  return { command, action, args };
}
