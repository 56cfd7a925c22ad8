// One WebSocket to the gateway that comes back by itself: reconnect with jittered
// backoff, a heartbeat inside API Gateway's 10-minute idle limit, and a renewal of the
// connection before API Gateway's 2-hour limit (the new socket opens before the old
// one closes, so a speaker loses no audio).
import { parseServerMessage, type ClientAction, type ServerMessage } from './protocol';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type SocketFactory = (url: string) => SocketLike;

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SocketOptions {
  /** Called before every (re)connection: the URL may carry a fresh token. */
  url: () => Promise<string> | string;
  factory?: SocketFactory;
  timers?: Timers;
  random?: () => number;
  heartbeatMs?: number;
  renewAfterMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Runs on every new connection before queued traffic flows (e.g. resume a session). */
  onConnected?: (socket: ProtocolSocket, renewed: boolean) => Promise<void> | void;
}

const OPEN = 1;
const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class ProtocolSocket {
  state: ConnectionState = 'closed';
  private socket: SocketLike | null = null;
  private attempts = 0;
  private stopped = false;
  private heartbeat: unknown = null;
  private renewal: unknown = null;
  private retry: unknown = null;
  private ready = false;
  private readonly messageListeners = new Set<(message: ServerMessage) => void>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly options: Required<Omit<SocketOptions, 'onConnected'>> & Pick<SocketOptions, 'onConnected'>;

  constructor(options: SocketOptions) {
    this.options = {
      factory: (url) => new WebSocket(url) as unknown as SocketLike,
      timers: realTimers,
      random: Math.random,
      heartbeatMs: 5 * 60_000,
      renewAfterMs: 100 * 60_000,
      backoffBaseMs: 500,
      backoffMaxMs: 15_000,
      ...options,
    };
  }

  onMessage(listener: (message: ServerMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Open and set up: app traffic may flow. */
  get isOpen(): boolean {
    return this.ready && this.socket?.readyState === OPEN;
  }

  start(): void {
    this.stopped = false;
    void this.open(false);
  }

  /** False when the socket is not open: the caller keeps the message (or drops it knowingly). */
  send(message: ClientAction): boolean {
    if (!this.isOpen || !this.socket) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  close(): void {
    this.stopped = true;
    this.clearTimers();
    this.socket?.close(1000, 'bye');
    this.socket = null;
    this.setState('closed');
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private clearTimers(): void {
    const { timers } = this.options;
    for (const handle of [this.heartbeat, this.renewal, this.retry]) if (handle !== null) timers.clearTimeout(handle);
    this.heartbeat = this.renewal = this.retry = null;
  }

  private async open(renewing: boolean): Promise<void> {
    if (!renewing) this.setState(this.attempts === 0 ? 'connecting' : 'reconnecting');
    let url: string;
    try {
      url = await this.options.url();
    } catch {
      this.scheduleReconnect();
      return;
    }
    const socket = this.options.factory(url);
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      const message = parseServerMessage(String(event.data));
      if (message) for (const listener of this.messageListeners) listener(message);
    };
    socket.onerror = () => undefined; // onclose follows and decides
    socket.onopen = () => void this.adopt(socket, renewing);
    socket.onclose = () => {
      if (socket !== this.socket) return; // an old socket closing after a renewal
      this.socket = null;
      this.ready = false;
      this.clearTimers();
      if (this.stopped) return;
      this.scheduleReconnect();
    };
    if (!renewing) this.socket = socket;
  }

  private async adopt(socket: SocketLike, renewed: boolean): Promise<void> {
    const previous = this.socket;
    this.socket = socket;
    this.attempts = 0;
    this.clearTimers();
    this.ready = false; // app traffic waits until the connection is set up (session resumed)
    try {
      await this.options.onConnected?.(this, renewed);
    } catch {
      // The caller reports its own failure; the socket stays usable.
    }
    // The old socket closes only now, when the new one carries the session.
    if (renewed && previous && previous !== socket) previous.close(1000, 'renewed');
    this.ready = true;
    this.state = 'open';
    for (const listener of this.stateListeners) listener('open'); // also after a renewal: flush queues
    this.armTimers();
  }

  /** Sends a message while the connection is still being set up (from onConnected). */
  sendDuringSetup(message: ClientAction): void {
    this.socket?.send(JSON.stringify(message));
  }

  private armTimers(): void {
    const { timers, heartbeatMs, renewAfterMs } = this.options;
    const beat = () => {
      this.send({ action: 'heartbeat' });
      this.heartbeat = timers.setTimeout(beat, heartbeatMs);
    };
    this.heartbeat = timers.setTimeout(beat, heartbeatMs);
    this.renewal = timers.setTimeout(() => void this.open(true), renewAfterMs);
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState('reconnecting');
    const { backoffBaseMs, backoffMaxMs, random, timers } = this.options;
    const ceiling = Math.min(backoffMaxMs, backoffBaseMs * 2 ** this.attempts);
    this.attempts += 1;
    const delay = ceiling / 2 + random() * (ceiling / 2);
    this.retry = timers.setTimeout(() => void this.open(false), delay);
  }
}

/** Sends now, or as soon as the connection is open again: a click made while it is down
 * is held, not lost. */
export function sendWhenOpen(socket: ProtocolSocket, message: ClientAction): void {
  if (socket.send(message)) return;
  const stop = socket.onState((state) => {
    if (state === 'open' && socket.send(message)) stop();
  });
}
