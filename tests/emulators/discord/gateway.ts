import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  GatewayCloseCodes,
  GatewayDispatchEvents,
  GatewayOpcodes,
  type GatewayGuildCreateDispatchData,
  type GatewayReadyDispatchData,
} from 'discord-api-types/v10';

/** A frame a client sent to the gateway, kept so tests can see IDENTIFY, RESUME, heartbeats. */
export interface GatewayFrame {
  sessionId: string | null;
  op: number;
  d: unknown;
  at: number;
}

export interface GatewaySessionInfo {
  id: string;
  shard: [number, number];
  intents: number;
  connected: boolean;
  /** How many times the session was resumed. */
  resumes: number;
}

/**
 * How INTERACTION_CREATE reaches sessions that share a shard. Real Discord sends every event of a
 * shard to every session identified for it, so two processes both identifying as shard [0, 1]
 * both receive (and race to answer) each interaction: `all-sessions`. `round-robin` hands each
 * interaction to one session in turn, which is what a bot that splits work between processes
 * would need Discord to do; it is the default because the harness tests that split.
 */
export type InteractionDelivery = 'round-robin' | 'all-sessions';

export interface GatewayOptions {
  token: string;
  heartbeatIntervalMs: number;
  delivery: InteractionDelivery;
  ready: (sessionId: string, shard: [number, number]) => GatewayReadyDispatchData;
  guildCreates: (shard: [number, number]) => GatewayGuildCreateDispatchData[];
}

interface DispatchFrame {
  op: GatewayOpcodes.Dispatch;
  t: string;
  s: number;
  d: unknown;
}

/** Discord keeps a bounded backlog per session; resuming from before it fails with op 9. */
const REPLAY_BUFFER = 1000;

class Session {
  seq = 0;
  readonly backlog: DispatchFrame[] = [];
  socket: WebSocket | null = null;
  resumes = 0;
  invalid = false;

  constructor(
    readonly id: string,
    readonly shard: [number, number],
    readonly intents: number,
  ) {}

  /** Sequences and buffers an event; sends it now when connected, else RESUME replays it. */
  push(t: string, d: unknown): void {
    const frame: DispatchFrame = { op: GatewayOpcodes.Dispatch, t, s: ++this.seq, d };
    this.backlog.push(frame);
    if (this.backlog.length > REPLAY_BUFFER) this.backlog.shift();
    this.socket?.send(JSON.stringify(frame));
  }
}

export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/**
 * Discord's gateway, v10 JSON encoding without compression (discord.js only asks for
 * zlib-stream when zlib-sync is installed). One WebSocket per client; sessions outlive sockets
 * so that a client whose connection dropped can RESUME and receive what it missed.
 */
export class GatewayServer {
  readonly frames: GatewayFrame[] = [];
  private readonly sessions = new Map<string, Session>();
  private readonly sockets = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private nextSession = 0;

  constructor(private readonly o: GatewayOptions) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://gateway');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, url));
  }

  private onConnection(ws: WebSocket, url: URL): void {
    this.sockets.add(ws);
    let session: Session | null = null;
    const send = (payload: unknown) => ws.send(JSON.stringify(payload));
    ws.on('close', (code) => {
      this.sockets.delete(ws);
      if (session?.socket === ws) {
        session.socket = null;
        // Closing with 1000/1001 ends the session; any other close leaves it resumable.
        if (code === 1000 || code === 1001) session.invalid = true;
      }
    });
    if (url.searchParams.get('v') !== '10') {
      ws.close(GatewayCloseCodes.InvalidAPIVersion, 'Invalid API version');
      return;
    }
    if ((url.searchParams.get('encoding') ?? 'json') !== 'json') {
      ws.close(GatewayCloseCodes.DecodeError, 'Only JSON encoding is emulated');
      return;
    }
    send({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.o.heartbeatIntervalMs }, s: null, t: null });

    ws.on('message', (raw: RawData) => {
      let frame: { op?: unknown; d?: unknown };
      try {
        frame = JSON.parse(raw.toString());
      } catch {
        ws.close(GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
        return;
      }
      const op = typeof frame.op === 'number' ? frame.op : -1;
      const d = (frame.d ?? null) as Record<string, unknown> | null;
      this.frames.push({ sessionId: session?.id ?? null, op, d: frame.d, at: Date.now() });
      switch (op) {
        case GatewayOpcodes.Heartbeat:
          send({ op: GatewayOpcodes.HeartbeatAck });
          return;
        case GatewayOpcodes.Identify: {
          if (session) return ws.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
          if (!this.tokenMatches(d?.token)) return ws.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
          if (typeof d?.intents !== 'number') return ws.close(GatewayCloseCodes.InvalidIntents, 'Invalid intent(s).');
          const shard = parseShard(d.shard);
          if (!shard) return ws.close(GatewayCloseCodes.InvalidShard, 'Invalid shard.');
          session = new Session(randomBytes(16).toString('hex'), shard, d.intents);
          session.socket = ws;
          this.sessions.set(session.id, session);
          session.push(GatewayDispatchEvents.Ready, this.o.ready(session.id, shard));
          for (const guild of this.o.guildCreates(shard)) session.push(GatewayDispatchEvents.GuildCreate, guild);
          return;
        }
        case GatewayOpcodes.Resume: {
          const target = typeof d?.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
          const seq = typeof d?.seq === 'number' ? d.seq : 0;
          const oldest = target?.backlog[0]?.s ?? Number.POSITIVE_INFINITY;
          if (!this.tokenMatches(d?.token)) return ws.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
          if (!target || target.invalid || (seq + 1 < oldest && seq < target.seq)) {
            send({ op: GatewayOpcodes.InvalidSession, d: false });
            return;
          }
          target.socket?.terminate();
          target.socket = ws;
          target.resumes += 1;
          session = target;
          for (const missed of target.backlog.filter((f) => f.s > seq)) send(missed);
          target.push(GatewayDispatchEvents.Resumed, null);
          return;
        }
        default:
          // Presence, voice and member requests are accepted and ignored; unknown opcodes are not.
          if (!session) return ws.close(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
          if (!Object.values(GatewayOpcodes).includes(op)) ws.close(GatewayCloseCodes.UnknownOpcode, 'Unknown opcode.');
      }
    });
  }

  private tokenMatches(token: unknown): boolean {
    return token === this.o.token || token === `Bot ${this.o.token}`;
  }

  private sessionsForGuild(guildId: string): Session[] {
    return [...this.sessions.values()].filter((s) => !s.invalid && s.shard[0] === shardOf(guildId, s.shard[1]));
  }

  /**
   * Sends an INTERACTION_CREATE per the delivery mode. Connected sessions are preferred; when
   * none is connected the event goes to a resumable one and is replayed on RESUME.
   * Returns the ids of the sessions that got it.
   */
  dispatchInteraction(guildId: string, payload: unknown): string[] {
    const candidates = this.sessionsForGuild(guildId);
    const connected = candidates.filter((s) => s.socket !== null);
    const pool = connected.length > 0 ? connected : candidates;
    if (pool.length === 0) throw new Error('no bot session is connected to the Discord emulator');
    const targets = this.o.delivery === 'all-sessions' ? pool : [pool[this.nextSession++ % pool.length] as Session];
    for (const session of targets) session.push(GatewayDispatchEvents.InteractionCreate, payload);
    return targets.map((s) => s.id);
  }

  /** Sends a guild event to every session of the guild's shard that asked for `intent`. */
  broadcast(guildId: string, intent: number, event: string, payload: unknown): void {
    for (const session of this.sessionsForGuild(guildId)) {
      if ((session.intents & intent) === intent) session.push(event, payload);
    }
  }

  sessionsInfo(): GatewaySessionInfo[] {
    return [...this.sessions.values()]
      .filter((s) => !s.invalid)
      .map((s) => ({ id: s.id, shard: s.shard, intents: s.intents, connected: s.socket !== null, resumes: s.resumes }));
  }

  /**
   * Cuts connections without a close frame (as a network failure does), leaving the sessions
   * resumable: the client sees code 1006 and RESUMEs.
   */
  drop(sessionId?: string): void {
    for (const session of this.sessions.values()) {
      if (sessionId === undefined || session.id === sessionId) session.socket?.terminate();
    }
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function parseShard(value: unknown): [number, number] | undefined {
  if (value === undefined) return [0, 1];
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [id, count] = value as unknown[];
  if (typeof id !== 'number' || typeof count !== 'number' || count < 1 || id < 0 || id >= count) return undefined;
  return [id, count];
}
