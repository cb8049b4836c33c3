import { ApplicationCommandType } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { commandDefinitions } from '../../commands/index.js';
import { describePlan, planRegistration } from '../../deploy/registration.js';

/**
 * What Discord answers for a registered command: ours, plus ids, versions and defaults of its own.
 * A context-menu command comes back with `description: ""` (ApplicationCommandResponse requires
 * one) and the `contexts` it was sent with.
 */
const asRegistered = (command: (typeof commandDefinitions)[number]) => ({
  contexts: null,
  description: '',
  ...JSON.parse(JSON.stringify(command)),
  id: '1574829205873627144',
  application_id: '1574829205328367616',
  version: '1574829205873627145',
  default_member_permissions: null,
  nsfw: false,
  integration_types: [0],
});

describe('command registration plan', () => {
  it('keeps commands Discord already has as sent, whatever it added to them', () => {
    const plan = planRegistration(commandDefinitions.map(asRegistered), commandDefinitions, 'global');
    expect(plan).toMatchObject({ added: [], changed: [], removed: [] });
    expect(plan.unchanged).toHaveLength(commandDefinitions.length);
  });

  it('takes an option that comes back without `required` as the `required: false` that was sent', () => {
    const sent = { name: 'pick', description: 'Pick one', options: [{ type: 3, name: 'colour', description: 'A colour', required: false }] };
    const returned = { ...asRegistered(sent as never), options: [{ type: 3, name: 'colour', description: 'A colour' }] };
    expect(planRegistration([returned], [sent], 'global').unchanged).toEqual(['pick']);
    const nowRequired = { ...returned, options: [{ ...returned.options[0]!, required: true }] };
    expect(planRegistration([nowRequired], [sent], 'global').changed).toEqual(['pick']);
  });

  it('sees an option added or dropped as a change', () => {
    const [first] = commandDefinitions.map(asRegistered);
    const dropped = { ...first, options: first.options.slice(1) };
    const added = { ...first, options: [...first.options, { type: 3, name: 'extra', description: 'An old option' }] };
    expect(planRegistration([dropped], [commandDefinitions[0]!], 'global').changed).toEqual([first.name]);
    expect(planRegistration([added], [commandDefinitions[0]!], 'global').changed).toEqual([first.name]);
  });

  it('sees a setting Discord still has but the bot no longer sends as a change', () => {
    const sent = { name: 'pick', description: 'Pick one', options: [{ type: 4, name: 'steps', description: 'Steps', min_value: 1 }] };
    const returned = { ...asRegistered(sent as never), options: [{ type: 4, name: 'steps', description: 'Steps', min_value: 1, max_value: 100 }] };
    expect(planRegistration([returned], [sent], 'global').changed).toEqual(['pick']);
    const translated = { ...asRegistered(sent as never), name_localizations: { ru: 'выбор' } };
    expect(planRegistration([translated], [sent], 'global').changed).toEqual(['pick']);
  });

  it('takes what Discord leaves out or answers as null as the empty values that were sent', () => {
    const sent = { name: 'help', description: 'Help', options: [] };
    const returned = { ...asRegistered(sent as never), options: undefined, name_localizations: null, description_localizations: null };
    expect(planRegistration([returned], [sent], 'global').unchanged).toEqual(['help']);
  });

  it('keeps the "Add to kmplz dataset" message menu as Discord returns it (type 3, no description), and tells it from a slash command of the same name', () => {
    const menu = commandDefinitions.find((c) => c.type === ApplicationCommandType.Message)!;
    expect(menu).toMatchObject({ name: 'Add to kmplz dataset', type: 3, contexts: [0] });
    expect('description' in menu).toBe(false);
    const label = '“Add to kmplz dataset” (context menu)';
    expect(planRegistration([asRegistered(menu)], [menu], 'global')).toMatchObject({ unchanged: [label], changed: [] });
    // Offered in direct messages too (contexts dropped on Discord's side): sent again.
    expect(planRegistration([{ ...asRegistered(menu), contexts: null }], [menu], 'global').changed).toEqual([label]);
    // A slash command with the menu's name is another command: the menu is added, the other removed.
    const slashNamedLikeIt = { ...asRegistered(menu), type: ApplicationCommandType.ChatInput, description: 'x' };
    expect(planRegistration([slashNamedLikeIt], [menu], 'global')).toMatchObject({ added: [label], removed: ['Add to kmplz dataset'] });
    expect(describePlan(planRegistration([], [menu], 'global'), true)).toContain(`add: ${label}`);
  });

  it('tells added, changed and removed commands apart', () => {
    const [first, second, ...rest] = commandDefinitions.filter((c) => c.type === ApplicationCommandType.ChatInput).map(asRegistered);
    const changed = { ...second, description: 'an older description' };
    const wanted = commandDefinitions.filter((c) => c.type === ApplicationCommandType.ChatInput);
    const plan = planRegistration([changed, ...rest, { ...first, name: 'old-command' }], wanted, 'guild 1');
    expect(plan.added).toEqual([commandDefinitions[0]!.name]);
    expect(plan.changed).toEqual([commandDefinitions[1]!.name]);
    expect(plan.removed).toEqual(['old-command']);
    expect(describePlan(plan, true)).toMatch(/^Dry run: guild 1 commands — would add 1, change 1, remove 1/);
  });
});
