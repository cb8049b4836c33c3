/**
 * Discord emulator for end-to-end tests: REST (/api/v10) and gateway on one 127.0.0.1 port,
 * driven by the real discord.js client.
 *
 *   const discord = await startDiscordEmulator();
 *   const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl } });
 *   await client.login(discord.token);
 *   const slash = await discord.slash({ name: 'kmplz', options: { prompt: 'a cat' } });
 *   await slash.ack();                           // { type: 5, … } once the bot defers
 *   const reply = await slash.waitForOriginal(); // StoredMessage: content, embeds, components, attachments (with bytes)
 *   discord.assertNoSpecErrors();
 *
 * DiscordEmulator
 *   apiUrl, gatewayUrl, origin, cdnHost, applicationId, botUserId, token
 *   users.{alice,bob,carol,dave}, makeUser(name, { guildIds?, roles? })
 *   guild(id?), textChannels(guildId?), threads(guildId?, parentId?)
 *   requests: RecordedRequest[]   every REST call: method, decoded path, query, headers, body (payload_json parsed), files, status, response
 *   specErrors: string[]          spec violations, unknown or not-emulated routes, emulator crashes; assertNoSpecErrors()
 *   slash / autocomplete / button / modalSubmit / messageCommand (input) → Promise<InteractionHandle>
 *   postAsUser({ user?, channelId?, content?, files }) → StoredMessage   a member's message with files (for messageCommand)
 *   messagesIn(channelId, { includeEphemeral? }), message(id), waitForMessage(channelId, predicate?, ms?), waitFor(check, ms?, what?)
 *   registeredCommands(guildId?), sessions(), gatewayFrames
 *   dropConnection(sessionId?)    cut sockets without a close frame: clients RESUME and get what they missed
 *   inject429(matcher, { retryAfter, global? }, count = 1)
 *   setBotPermissions(channelId, { allow?, deny? }, { announce? })   the bot's overwrite in a channel (and its threads)
 *   close()
 * InteractionHandle
 *   id, token, dispatchedAt, payload, sessionIds, response
 *   ack(ms?) → InteractionAck { type, data, files, at, latencyMs }; rejects when the deadline passes unanswered
 *   choices(), modal(), original(), waitForOriginal(predicate?, ms?), followUps(), waitForFollowUp(predicate?, ms?)
 *
 * Behaviour worth knowing:
 * - Interactions go to one connected gateway session, round-robin, among the sessions of the
 *   guild's shard (`interactionDelivery: 'all-sessions'` does what Discord does for two sessions
 *   on one shard: both get every event). With no session connected, a resumable one gets it and
 *   RESUME replays it.
 * - Callbacks: one per interaction (then 40060), within `ackDeadlineMs` (then 10062). Tokens work
 *   for 15 minutes, or until a test calls `revokeToken()` (then 401/50027). The first follow-up after a deferral fills in the
 *   "thinking" message instead of posting a new one, as on Discord.
 * - Invalid requests are recorded in `specErrors` and still processed when possible; only what
 *   Discord itself refuses outright (empty message, over 2000 characters, file over the
 *   server's limit, invalid JSON …) is answered with Discord's error.
 * - The bot's permissions are resolved per channel (roles, then the channel's overwrites; a thread
 *   goes by its parent) for `app_permissions` and for REST: posting, starting threads, files and
 *   embeds it may not send there are refused with 403 50013, any use of a channel it cannot view
 *   with 403 50001, as Discord does. Interaction responses and follow-ups are not checked.
 * - Attachments are served by the emulator with signed, expiring URLs; slash command attachments
 *   are given as `{ filename, data | url }` option values and arrive via `data.resolved.attachments`.
 * - A message command (context menu) arrives as Discord sends it: type 2 with `data.type` 3,
 *   `target_id`, and the target message with its attachments in `data.resolved.messages`.
 * - Command option types come from the commands the bot registered (and their choices, ranges
 *   and required flags are enforced as Discord's client does); without registration they are
 *   inferred from the values.
 */
export { startDiscordEmulator, DiscordEmulator, type DiscordEmulatorOptions, type DefaultUsers } from './server.js';
export {
  InteractionHandle,
  type InteractionAck,
  type AttachmentInput,
  type OptionValue,
  type ExplicitOption,
  type SlashInput,
  type AutocompleteInput,
  type ButtonInput,
  type ModalSubmitInput,
  type MessageCommandInput,
  type UserMessageInput,
  type InteractionContextInput,
} from './interactions.js';
export { StoredMessage, type StoredAttachment } from './messages.js';
export type { RecordedRequest, Inject429Options, RequestMatcher } from './rest.js';
export type { UploadedFile } from './multipart.js';
export type { GatewayFrame, GatewaySessionInfo, InteractionDelivery } from './gateway.js';
export type { EmulatedUser, EmulatedGuild, GuildInput } from './model.js';
export { SnowflakeGenerator, snowflakeTime } from './snowflake.js';
