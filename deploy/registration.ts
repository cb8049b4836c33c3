import { ApplicationCommandType, REST, Routes, type RESTGetAPIApplicationCommandsResult, type RESTPostAPIApplicationCommandsJSONBody } from 'discord.js';
import { isDeepStrictEqual } from 'node:util';

export interface RegistrationPlan {
  scope: string;
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
}

export interface RegistrationOptions {
  rest: REST;
  applicationId: string;
  /** Guild commands update at once (good while developing); global ones reach every server. */
  guildId?: string;
  commands: readonly RESTPostAPIApplicationCommandsJSONBody[];
  /** Only compute and return what would change. */
  dryRun?: boolean;
  /** Send the commands only when Discord's set differs (the bot at start); `npm run deploy` always sends them. */
  onlyIfChanged?: boolean;
  /** Gives up waiting (a 429 on the commands route is waited out, however long). */
  signal?: AbortSignal;
}

/**
 * Registers the slash commands with one bulk overwrite (PUT), which makes the registered set
 * exactly the bot's set: renamed or dropped commands disappear instead of lingering.
 */
export async function registerCommands({ rest, applicationId, guildId, commands, dryRun = false, onlyIfChanged = false, signal }: RegistrationOptions): Promise<RegistrationPlan> {
  const route = guildId ? Routes.applicationGuildCommands(applicationId, guildId) : Routes.applicationCommands(applicationId);
  // Without with_localizations Discord leaves out the name/description translations, and every
  // command that has any would then look changed.
  const existing = (await rest.get(route, { query: new URLSearchParams({ with_localizations: 'true' }), signal })) as RESTGetAPIApplicationCommandsResult;
  const plan = planRegistration(existing, commands, guildId ? `guild ${guildId}` : 'global');
  if (!dryRun && !(onlyIfChanged && !hasChanges(plan))) await rest.put(route, { body: commands, signal });
  return plan;
}

export function hasChanges(plan: RegistrationPlan): boolean {
  return plan.added.length + plan.changed.length + plan.removed.length > 0;
}

export function planRegistration(
  existing: RESTGetAPIApplicationCommandsResult,
  wanted: readonly RESTPostAPIApplicationCommandsJSONBody[],
  scope: string,
): RegistrationPlan {
  // A name is unique per type only: a slash command and a context-menu command may share one.
  const key = (command: { type?: ApplicationCommandType; name: string }) => `${command.type ?? ApplicationCommandType.ChatInput}:${command.name}`;
  const byKey = new Map(existing.map((command) => [key(command), command]));
  // Slash commands by name; a context-menu command as its menu shows it, marked as one.
  const label = (command: { type?: ApplicationCommandType; name: string }) =>
    (command.type ?? ApplicationCommandType.ChatInput) === ApplicationCommandType.ChatInput ? command.name : `“${command.name}” (context menu)`;
  const plan: RegistrationPlan = { scope, added: [], changed: [], removed: [], unchanged: [] };
  for (const command of wanted) {
    const current = byKey.get(key(command));
    if (!current) plan.added.push(label(command));
    else if (sameDefinition(current, command)) plan.unchanged.push(label(command));
    else plan.changed.push(label(command));
    byKey.delete(key(command));
  }
  plan.removed.push(...[...byKey.values()].map(label));
  return plan;
}

/** What Discord adds to a command it returns: ids, versions and settings kmplz leaves at their defaults. */
const ADDED_BY_DISCORD = new Set(['id', 'application_id', 'guild_id', 'version', 'default_member_permissions', 'dm_permission', 'contexts', 'integration_types', 'nsfw']);

/**
 * Whether Discord's copy is the definition the bot sends. Both ways: a setting the bot no longer
 * sends (a dropped `max_value`, choice or translation) is a change too, because Discord keeps it
 * until the command is sent again. Discord leaves out what is empty or false (an optional
 * option comes back without `required`, a command without options without `options`).
 */
function sameDefinition(current: unknown, wanted: RESTPostAPIApplicationCommandsJSONBody): boolean {
  // The builders leave unset fields as `undefined`: compare what actually goes over the wire.
  return same(current, JSON.parse(JSON.stringify(wanted)));
}

function same(actual: unknown, sent: unknown): boolean {
  if (actual === undefined && isEmpty(sent)) return true;
  if (Array.isArray(sent)) {
    return Array.isArray(actual) && actual.length === sent.length && sent.every((item, i) => same(actual[i], item));
  }
  if (sent && typeof sent === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const theirs = actual as Record<string, unknown>;
    const ours = sent as Record<string, unknown>;
    return (
      Object.keys(ours).every((key) => same(theirs[key], ours[key])) &&
      Object.keys(theirs).every((key) => key in ours || ADDED_BY_DISCORD.has(key) || isEmpty(theirs[key]))
    );
  }
  return isDeepStrictEqual(actual, sent);
}

/**
 * Values Discord treats as not set. A context-menu command has no description: Discord answers
 * `description: ""` for it (a slash command's description cannot be empty).
 */
function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || value === false || value === '' || (Array.isArray(value) && value.length === 0);
}

export function describePlan(plan: RegistrationPlan, dryRun: boolean): string {
  const verb = dryRun ? 'would' : 'did';
  const line = (label: string, names: string[]) => (names.length ? `  ${label}: ${names.map((n) => (n.startsWith('“') ? n : `/${n}`)).join(', ')}` : undefined);
  return [
    `${dryRun ? 'Dry run: ' : ''}${plan.scope} commands — ${verb} add ${plan.added.length}, change ${plan.changed.length}, remove ${plan.removed.length}, keep ${plan.unchanged.length}.`,
    line('add', plan.added),
    line('change', plan.changed),
    line('remove', plan.removed),
    line('keep', plan.unchanged),
  ]
    .filter(Boolean)
    .join('\n');
}
