import { describe, expect, it } from 'vitest';
import { EventBus, type BotEvent } from '../src/events.js';

describe('BotEventBus', () => {
  it('hands each listener the payloads of its event, in order, and stops after unsubscribing', () => {
    const bus = new EventBus();
    const seen: number[] = [];
    const all: BotEvent['name'][] = [];
    const off = bus.on('interaction.acknowledged', ({ ms }) => seen.push(ms));
    bus.onAny((event) => all.push(event.name));
    bus.emit('interaction.acknowledged', { kind: 'slash', ms: 12 });
    bus.emit('setup.checked', { problems: [] });
    off();
    bus.emit('interaction.acknowledged', { kind: 'slash', ms: 40 });
    expect(seen).toEqual([12]);
    expect(all).toEqual(['interaction.acknowledged', 'setup.checked', 'interaction.acknowledged']);
  });

  it('reports a listener that throws and still calls the others', () => {
    const failures: string[] = [];
    const bus = new EventBus((error, name) => failures.push(`${name}: ${(error as Error).message}`));
    const seen: string[] = [];
    bus.on('setup.checked', () => {
      throw new Error('broken listener');
    });
    bus.on('setup.checked', () => seen.push('second'));
    bus.onAny(() => seen.push('recorder'));
    expect(() => bus.emit('setup.checked', { problems: [] })).not.toThrow();
    expect(seen).toEqual(['second', 'recorder']);
    expect(failures).toEqual(['setup.checked: broken listener']);
  });
});
