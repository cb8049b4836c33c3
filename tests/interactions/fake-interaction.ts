import { MessageFlags, PermissionFlagsBits, PermissionsBitField, type Interaction } from 'discord.js';

export const GUILD_ID = '1100000000000000001';
export const CHANNEL_ID = '1100000000000000002';
export const THREAD_ID = '1100000000000000003';
export const TRAINER_ROLE = '1100000000000000004';

/** Everything the bot needs in a channel (the invite link's permissions). */
export const ALL_BOT_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.SendMessagesInThreads |
  PermissionFlagsBits.CreatePublicThreads |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.ReadMessageHistory;

/** Who asks, and from where. */
export interface Caller {
  /** false: a direct message. */
  inGuild?: boolean;
  roles?: string[];
  manageGuild?: boolean;
  /** The bot's permissions in the channel (`app_permissions`); null: Discord did not send them. */
  app?: bigint | null;
  /** Asked from a thread of CHANNEL_ID. */
  inThread?: boolean;
}

/** What was said back, in order: the calls a discord.js interaction would make to Discord. */
export interface Said {
  call: 'reply' | 'deferReply' | 'deferUpdate' | 'editReply' | 'followUp' | 'deleteReply' | 'showModal';
  content?: string;
  ephemeral?: boolean;
}

/** How the interaction arrives: the parts the dispatcher routes on. */
export type Arrival =
  | { slash: string; subcommand?: string; options?: Record<string, unknown> }
  | { button: string }
  | { modal: string }
  | { menu: string };

let nextId = 1;

/**
 * A stand-in for a discord.js interaction with just what the dispatcher, the guards and
 * `respond.ts` read, recording every answer. Built by hand because the guards' behaviour, not
 * discord.js's payload parsing, is under test here (the end-to-end tests drive the real one).
 */
export function fakeInteraction(arrival: Arrival, caller: Caller = {}): { interaction: Interaction; said: Said[] } {
  const { inGuild = true, roles = [], manageGuild = false, app = ALL_BOT_PERMISSIONS, inThread = false } = caller;
  const said: Said[] = [];
  const options = 'slash' in arrival ? (arrival.options ?? {}) : {};
  const option = (name: string) => (name in options ? options[name] : null);
  const is = (kind: 'slash' | 'button' | 'modal' | 'menu') => kind in arrival;
  const ephemeralOf = (payload?: { flags?: unknown }) => payload?.flags === MessageFlags.Ephemeral;
  const text = (payload: unknown) => (typeof payload === 'string' ? payload : (payload as { content?: string })?.content);
  const fake = {
    id: String(nextId++),
    locale: 'en-US',
    user: { id: '1100000000000000010' },
    guildId: inGuild ? GUILD_ID : null,
    channelId: inThread ? THREAD_ID : CHANNEL_ID,
    channel: { isThread: () => inThread, parentId: inThread ? CHANNEL_ID : null },
    client: { user: { username: 'kmplz' } },
    appPermissions: app === null ? null : new PermissionsBitField(app).freeze(),
    memberPermissions: inGuild ? new PermissionsBitField(manageGuild ? PermissionFlagsBits.ManageGuild : 0n).freeze() : null,
    member: inGuild ? { roles } : null,
    commandName: 'slash' in arrival ? arrival.slash : 'menu' in arrival ? arrival.menu : undefined,
    customId: 'button' in arrival ? arrival.button : 'modal' in arrival ? arrival.modal : undefined,
    targetId: '1100000000000000020',
    options: {
      data: Object.keys(options).map((name) => ({ name })),
      getSubcommand: () => ('slash' in arrival ? arrival.subcommand : undefined) ?? null,
      getAttachment: option,
      getInteger: option,
      getString: option,
      getBoolean: option,
      get: (name: string) => (name in options ? { name, value: options[name] } : null),
    },
    deferred: false,
    replied: false,
    ephemeral: null as boolean | null,
    inGuild: () => inGuild,
    isAutocomplete: () => false,
    isCommand: () => is('slash') || is('menu'),
    isChatInputCommand: () => is('slash'),
    isMessageContextMenuCommand: () => is('menu'),
    isButton: () => is('button'),
    isModalSubmit: () => is('modal'),
    isMessageComponent: () => is('button'),
    isRepliable: () => true,
    async deferReply(payload?: { flags?: unknown }) {
      fake.deferred = true;
      fake.ephemeral = ephemeralOf(payload);
      said.push({ call: 'deferReply', ephemeral: fake.ephemeral });
    },
    async deferUpdate() {
      fake.deferred = true;
      said.push({ call: 'deferUpdate' });
    },
    async reply(payload: { flags?: unknown }) {
      fake.replied = true;
      said.push({ call: 'reply', content: text(payload), ephemeral: ephemeralOf(payload) });
    },
    async editReply(payload: unknown) {
      fake.replied = true;
      said.push({ call: 'editReply', content: text(payload), ephemeral: fake.ephemeral ?? false });
    },
    async followUp(payload: { flags?: unknown }) {
      said.push({ call: 'followUp', content: text(payload), ephemeral: ephemeralOf(payload) });
    },
    async deleteReply() {
      said.push({ call: 'deleteReply' });
    },
    async showModal() {
      said.push({ call: 'showModal' });
    },
  };
  return { interaction: fake as unknown as Interaction, said };
}
