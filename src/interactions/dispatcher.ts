import { DiscordAPIError, RESTJSONErrorCodes, type AutocompleteInteraction, type Interaction, type RepliableInteraction } from 'discord.js';
import type { Cluster } from '../cluster/cluster.js';
import type { BotContext } from '../context.js';
import type { InteractionFacts } from '../events.js';
import { isUserError, newErrorReference } from '../errors.js';
import { localeOf, t } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { within } from '../util/within.js';
import { parseCustomId, type DeferMode, type MessageMenuCommand, type SlashCommand } from './command.js';
import { checkGuards, type Granted, type Guards } from './guards.js';
import { acknowledge, assumeAcknowledged, respondPrivately } from './respond.js';

/**
 * Routes every interaction to its command: slash commands and message context-menu commands (a
 * command's `menus`) by name, buttons and modals by the first segment of their `custom_id`,
 * autocomplete to the command's `autocomplete`. The one place where errors become answers: a `UserError` is shown to its caller, anything else is logged with
 * a reference the caller can quote.
 */
export class Dispatcher {
  private readonly commands: ReadonlyMap<string, SlashCommand>;
  private readonly menus: ReadonlyMap<string, MessageMenuCommand>;
  private accepting = true;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    commands: readonly SlashCommand[],
    private readonly ctx: BotContext,
    private readonly cluster: Pick<Cluster, 'claimInteraction' | 'holds' | 'acknowledged' | 'handled' | 'othersAlive'>,
  ) {
    this.commands = new Map(commands.map((command) => [command.data.name, command]));
    this.menus = new Map(commands.flatMap((command) => command.menus ?? []).map((menu) => [menu.data.name, menu]));
  }

  /** The discord.js `interactionCreate` listener. Never throws: a listener that throws would crash the process. */
  readonly handle = (interaction: Interaction): void => {
    const run = this.dispatch(interaction).catch((error: unknown) => {
      this.ctx.log.error({ err: error, interactionId: interaction.id }, 'interaction handling failed outside the error handler');
      this.ctx.events.emit('interaction.crashed', { interactionId: interaction.id });
    });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  };

  /** Stop taking new interactions (they get a short "restarting" answer) and wait for the running ones. */
  async drain(timeoutMs: number): Promise<void> {
    this.accepting = false;
    await within(timeoutMs, Promise.allSettled([...this.inFlight]));
  }

  private async dispatch(interaction: Interaction): Promise<void> {
    const started = performance.now();
    const facts = factsOf(interaction);
    const log = this.ctx.log.child(facts);
    const ctx: BotContext = { ...this.ctx, log };

    // A stopping process leaves new interactions to the others, when there are any.
    if (!this.accepting && (await this.cluster.othersAlive().catch(() => false))) {
      log.debug('stopping: left to another process');
      return;
    }
    // Several processes on one Redis all receive every interaction: one answers it.
    const claim = await this.cluster.claimInteraction(interaction.id);
    if (!claim) {
      log.debug('another process answers this interaction');
      return;
    }
    if (interaction.isAutocomplete()) {
      await this.autocomplete(interaction, ctx);
      this.markHandled(interaction.id);
      return;
    }
    if (!interaction.isRepliable()) return;
    const acknowledgeAs = async (mode: DeferMode | 'update' | undefined) => {
      if (mode && mode !== 'none') {
        if (claim.acknowledged) assumeAcknowledged(interaction, mode);
        else {
          await acknowledge(interaction, mode).catch(async (error: unknown) => {
            if (!isAlreadyAcknowledged(error)) throw error;
            // Taken over from a claimer that acknowledged with Discord and died before it could
            // say so in Redis: still this process's to answer, by editing that reply.
            if (await this.cluster.holds(interaction.id)) {
              log.warn('the claimer this process took over from had acknowledged already: answering in its reply');
              assumeAcknowledged(interaction, mode);
              return;
            }
            // The claimer was only slow, acknowledged after all and holds the claim again: stand
            // by as any other process does, and answer in its reply should it die before it is done.
            const again = await this.cluster.claimInteraction(interaction.id);
            if (!again) throw error;
            log.warn('the claimer this process stood by for died after acknowledging: answering in its reply');
            assumeAcknowledged(interaction, mode);
          });
        }
      }
      this.acknowledged(interaction, started);
    };

    try {
      if (!this.accepting) {
        await respondPrivately(interaction, { content: t(localeOf(interaction), 'error.queue-closed') });
        return;
      }
      const route = this.route(interaction);
      if (!route) {
        log.debug('ignored an interaction kind kmplz does not use');
        return;
      }
      await acknowledgeAs(route.defer);
      log.info(route.logged, route.what);
      // After the acknowledgement, as the handlers' own checks were: a refusal then goes where
      // every other refusal goes (respondPrivately), also for an interaction taken over from a
      // process that had acknowledged it already.
      const granted = checkGuards(interaction, route.guards, ctx.config);
      await route.execute(ctx, granted);
      this.ctx.events.emit('interaction.handled', facts);
    } catch (error) {
      await this.answerError(interaction, error, log, facts);
    } finally {
      this.markHandled(interaction.id);
    }
  }

  /** The handler an interaction goes to, with its guards and how it is acknowledged; undefined for kinds kmplz does not use. */
  private route(interaction: RepliableInteraction): Route | undefined {
    if (interaction.isChatInputCommand()) {
      const command = this.commands.get(interaction.commandName);
      if (!command) throw new Error(`no handler for /${interaction.commandName}: are the registered commands out of date?`);
      return {
        what: 'command',
        logged: { options: interaction.options.data.map((o) => o.name) },
        defer: command.defer(interaction),
        guards: typeof command.guards === 'function' ? command.guards(interaction) : command.guards,
        execute: (ctx, granted) => command.execute(interaction, ctx, granted),
      };
    }
    if (interaction.isMessageContextMenuCommand()) {
      const menu = this.menus.get(interaction.commandName);
      if (!menu) throw new Error(`no handler for the message command "${interaction.commandName}": are the registered commands out of date?`);
      return { what: 'message command', logged: { targetId: interaction.targetId }, defer: menu.defer, guards: menu.guards, execute: (ctx, granted) => menu.execute(interaction, ctx, granted) };
    }
    if (interaction.isButton() || interaction.isModalSubmit()) {
      const parsed = parseCustomId(interaction.customId);
      const handler = parsed && this.commands.get(parsed.command)?.components?.[parsed.action];
      if (!parsed || !handler) throw new Error(`no handler for custom_id ${interaction.customId}`);
      return { what: 'component', logged: {}, defer: handler.defer, guards: handler.guards, execute: (ctx, granted) => handler.execute(interaction, parsed.args, ctx, granted) };
    }
    return undefined;
  }

  private acknowledged(interaction: RepliableInteraction, started: number): void {
    if (!interaction.deferred && !interaction.replied) return;
    this.ctx.events.emit('interaction.acknowledged', { kind: kindOf(interaction), ms: performance.now() - started });
    void this.cluster.acknowledged(interaction.id).catch((error: unknown) => this.ctx.log.warn({ err: error, interactionId: interaction.id }, 'could not record the acknowledgement'));
  }

  /** Tells the other processes that this interaction needs nobody any more (see Cluster.claimInteraction). */
  private markHandled(interactionId: string): void {
    void this.cluster.handled(interactionId).catch((error: unknown) => this.ctx.log.warn({ err: error, interactionId }, 'could not record the interaction as handled'));
  }

  private async autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
    const command = this.commands.get(interaction.commandName);
    try {
      if (!this.accepting || !command?.autocomplete) {
        await interaction.respond([]);
        return;
      }
      await command.autocomplete(interaction, ctx);
    } catch (error) {
      ctx.log.warn({ err: error }, 'autocomplete failed');
      // An unanswered autocomplete shows "loading options failed"; an empty list is kinder.
      if (!interaction.responded) await interaction.respond([]).catch(() => undefined);
    }
  }

  private async answerError(interaction: RepliableInteraction, error: unknown, log: Logger, facts: InteractionFacts): Promise<void> {
    if (isAlreadyAcknowledged(error)) {
      // Another process took it over (this one was slow to acknowledge) and answered first.
      log.info('another process answered this interaction first');
      return;
    }
    let content: string;
    if (isUserError(error)) {
      log.info({ code: error.code }, `refused: ${error.message}`);
      this.ctx.events.emit('interaction.refused', { ...facts, code: error.code });
      content = error.render(localeOf(interaction));
    } else {
      const reference = newErrorReference();
      log.error({ err: error, reference }, 'unexpected error');
      this.ctx.events.emit('interaction.failed', { ...facts, reference });
      content = t(localeOf(interaction), 'error.unexpected', { reference });
    }
    try {
      await respondPrivately(interaction, { content, embeds: [], components: [], files: [] });
    } catch (replyError) {
      // The interaction may have expired or been deleted; nothing more can reach this user.
      log.warn({ err: replyError }, 'could not tell the user about an error');
      this.ctx.events.emit('interaction.answer-failed', facts);
    }
  }
}

interface Route {
  /** The log line's message and fields that say what was asked. */
  what: string;
  logged: Record<string, unknown>;
  defer: DeferMode | 'update' | undefined;
  guards: Guards;
  execute(ctx: BotContext, granted: Granted): Promise<void>;
}

/** Who asked what: the bindings of the interaction's log lines and the payload of its events. */
function factsOf(interaction: Interaction): InteractionFacts {
  return {
    interactionId: interaction.id,
    kind: kindOf(interaction),
    ...(interaction.isCommand() || interaction.isAutocomplete() ? { command: interaction.commandName } : {}),
    ...(interaction.isMessageComponent() || interaction.isModalSubmit() ? { customId: interaction.customId } : {}),
    userId: interaction.user.id,
    ...(interaction.guildId ? { guildId: interaction.guildId } : {}),
  };
}

function kindOf(interaction: Interaction): string {
  if (interaction.isChatInputCommand()) return 'command';
  if (interaction.isMessageContextMenuCommand()) return 'message-command';
  if (interaction.isAutocomplete()) return 'autocomplete';
  if (interaction.isButton()) return 'button';
  if (interaction.isModalSubmit()) return 'modal';
  return 'other';
}

function isAlreadyAcknowledged(error: unknown): boolean {
  return error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged;
}
