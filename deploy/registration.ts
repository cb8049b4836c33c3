import { REST, Routes, type RESTGetAPIApplicationCommandsResult, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
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
  commands: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[];
  /** Only compute and return what would change. */
  dryRun?: boolean;
  /** Send the commands only when Discord's set differs (the bot at start); `npm run deploy` always sends them. */
  onlyIfChanged?: boolean;
}

/**
 * Registers the slash commands with one bulk overwrite (PUT), which makes the registered set
 * exactly the bot's set: renamed or dropped commands disappear instead of lingering.
 */
export async function registerCommands({ rest, applicationId, guildId, commands, dryRun = false, onlyIfChanged = false }: RegistrationOptions): Promise<RegistrationPlan> {
  const route = guildId ? Routes.applicationGuildCommands(applicationId, guildId) : Routes.applicationCommands(applicationId);
  // Without with_localizations Discord leaves out the name/description translations, and every
  // command that has any would then look changed.
  const existing = (await rest.get(route, { query: new URLSearchParams({ with_localizations: 'true' }) })) as RESTGetAPIApplicationCommandsResult;
  const plan = planRegistration(existing, commands, guildId ? `guild ${guildId}` : 'global');
  if (!dryRun && !(onlyIfChanged && !hasChanges(plan))) await rest.put(route, { body: commands });
  return plan;
}

export function hasChanges(plan: RegistrationPlan): boolean {
  return plan.added.length + plan.changed.length + plan.removed.length > 0;
}

export function planRegistration(
  existing: RESTGetAPIApplicationCommandsResult,
  wanted: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[],
  scope: string,
): RegistrationPlan {
  const byName = new Map(existing.map((command) => [command.name, command]));
  const plan: RegistrationPlan = { scope, added: [], changed: [], removed: [], unchanged: [] };
  for (const command of wanted) {
    const current = byName.get(command.name);
    if (!current) plan.added.push(command.name);
    else if (sameDefinition(current, command)) plan.unchanged.push(command.name);
    else plan.changed.push(command.name);
    byName.delete(command.name);
  }
  plan.removed.push(...byName.keys());
  return plan;
}

/**
 * Compares only what the bot sends; Discord adds ids, versions and defaults to what it returns,
 * and leaves out flags that are false (an optional option comes back without `required`).
 */
function sameDefinition(current: object, wanted: RESTPostAPIChatInputApplicationCommandsJSONBody): boolean {
  // The builders leave unset fields as `undefined`: compare what actually goes over the wire.
  const sent: unknown = JSON.parse(JSON.stringify(wanted));
  return isDeepStrictEqual(pick(current, sent), sent);
}

function pick(actual: unknown, shape: unknown): unknown {
  if (shape === false && actual === undefined) return false;
  if (Array.isArray(shape)) {
    // A different length (an option added or dropped) is a change, whatever the items say.
    return Array.isArray(actual) && actual.length === shape.length ? shape.map((item, i) => pick(actual[i], item)) : actual;
  }
  if (shape && typeof shape === 'object') {
    if (!actual || typeof actual !== 'object') return actual;
    return Object.fromEntries(Object.keys(shape).map((key) => [key, pick((actual as Record<string, unknown>)[key], (shape as Record<string, unknown>)[key])]));
  }
  return actual;
}

export function describePlan(plan: RegistrationPlan, dryRun: boolean): string {
  const verb = dryRun ? 'would' : 'did';
  const line = (label: string, names: string[]) => (names.length ? `  ${label}: ${names.map((n) => `/${n}`).join(', ')}` : undefined);
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
