// Audio chunks in seq order, whatever the connection does: sent at once when the socket
// is open, queued while it reconnects, flushed in seq order when it is back.
//
// - The unsent queue is bounded (oldest dropped first) but never drops chunk 0: it holds
//   the WebM header without which no later chunk can be decoded.
// - The last `keep` sent chunks (60 s) are kept, and chunk 0 with them, so that a chunk
//   the server did not store can be sent again: `requeue(seq)` after a RATE_LIMITED or
//   INTERNAL_ERROR reply, `resendAfter(lastSeq)` after a resume (chunks sent into a dying
//   socket). The server ignores a chunk it already has, so resending is safe.
// - Sending is paced: at most `perSecond` sends in any one-second window (the server
//   allows 20 a session; MediaRecorder makes 4 a second), so a 60 s backlog drains in
//   about 30 s while live audio keeps coming. With no backlog a chunk goes out at once.
//   The window is a sliding one rather than a token refilled every 1/12 s: a hidden tab's
//   timers fire about once a second, and a window still lets 12 go at each of those.
import type { Timers } from '@llt/shared';

export interface Chunk {
  seq: number;
  data: string;
}

export interface ChunkQueueOptions {
  /** Unsent chunks kept while the socket is down: 600 × 250 ms = 150 s of audio, more
   * than the server's 120 s grace period, so nothing said before the session would
   * end is dropped. The server accepts a seq up to `limit + keep` past its last. */
  limit?: number;
  /** Sent chunks kept for resending (besides chunk 0). */
  keep?: number;
  /** Sends allowed in any one-second window. */
  perSecond?: number;
  timers?: Timers;
}

const WINDOW_MS = 1000;
// Held to the server's Limits (max_seq_jump, speaker_grace_seconds) by tests/unit/test_worker_limits.py.
export const UNSENT_LIMIT = 600;
export const SENT_KEPT = 240;
const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class ChunkQueue {
  /** Unsent chunks in seq order, each seq at most once. */
  private readonly unsent: Chunk[] = [];
  private readonly queued = new Set<number>();
  /** Sent chunks by seq, oldest send first. */
  private readonly sent = new Map<number, Chunk>();
  /** When the last `perSecond` sends happened. */
  private readonly sendTimes: number[] = [];
  private wake: unknown = null;
  private waiters: (() => void)[] = [];
  private readonly limit: number;
  private readonly keep: number;
  private readonly perSecond: number;
  private readonly timers: Timers;
  dropped = 0;

  constructor(
    private readonly trySend: (chunk: Chunk) => boolean,
    options: ChunkQueueOptions = {},
  ) {
    this.limit = options.limit ?? UNSENT_LIMIT;
    this.keep = options.keep ?? SENT_KEPT;
    this.perSecond = options.perSecond ?? 12;
    this.timers = options.timers ?? realTimers;
  }

  /** Chunks waiting to be sent. */
  get length(): number {
    return this.unsent.length;
  }

  /** Seqs waiting to be sent, in the order they will go. */
  get pending(): number[] {
    return this.unsent.map((chunk) => chunk.seq);
  }

  push(chunk: Chunk): void {
    this.insert(chunk);
    this.flush();
  }

  /** A sent chunk the server did not store goes out again; false if it is no longer kept. */
  requeue(seq: number): boolean {
    if (this.queued.has(seq)) return true;
    const chunk = this.sent.get(seq);
    if (!chunk) return false;
    this.insert(chunk);
    this.flush();
    return true;
  }

  /** After a resume: every kept chunk above the server's lastSeq goes out again. Returns how many. */
  resendAfter(lastSeq: number): number {
    let count = 0;
    for (const chunk of this.sent.values()) {
      if (chunk.seq > lastSeq && !this.queued.has(chunk.seq)) {
        this.insert(chunk);
        count += 1;
      }
    }
    this.flush();
    return count;
  }

  /** The session is over: nothing more is sent. */
  clear(): void {
    this.unsent.length = 0;
    this.queued.clear();
    this.sent.clear();
    this.cancelWake();
    this.settle();
  }

  /** Resolves once nothing is waiting to be sent (at once if nothing is). */
  whenEmpty(): Promise<void> {
    if (this.unsent.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  flush(): void {
    while (this.unsent.length > 0) {
      const wait = this.waitMs();
      if (wait > 0) {
        this.armWake(wait);
        return;
      }
      const next = this.unsent[0];
      if (!next || !this.trySend(next)) return; // the socket is down: its 'open' flushes again
      this.unsent.shift();
      this.queued.delete(next.seq);
      this.remember(next);
      this.sendTimes.push(this.timers.now());
      if (this.sendTimes.length > this.perSecond) this.sendTimes.shift();
    }
    this.settle();
  }

  private insert(chunk: Chunk): void {
    if (this.queued.has(chunk.seq)) return;
    let at = this.unsent.length;
    while (at > 0 && (this.unsent[at - 1]?.seq ?? -1) > chunk.seq) at -= 1;
    this.unsent.splice(at, 0, chunk);
    this.queued.add(chunk.seq);
    while (this.unsent.length > this.limit) {
      const victim = this.unsent[0]?.seq === 0 ? 1 : 0;
      const [gone] = this.unsent.splice(victim, 1);
      if (gone) this.queued.delete(gone.seq);
      this.dropped += 1;
    }
  }

  private remember(chunk: Chunk): void {
    this.sent.delete(chunk.seq); // a resend counts as the newest
    this.sent.set(chunk.seq, chunk);
    const cap = this.keep + (this.sent.has(0) ? 1 : 0);
    for (const seq of this.sent.keys()) {
      if (this.sent.size <= cap) break;
      if (seq !== 0) this.sent.delete(seq);
    }
  }

  /** How long until one more send fits in the window. */
  private waitMs(): number {
    if (this.sendTimes.length < this.perSecond) return 0;
    const oldest = this.sendTimes[0] ?? 0;
    return Math.max(0, oldest + WINDOW_MS - this.timers.now());
  }

  private armWake(ms: number): void {
    if (this.wake !== null) return;
    this.wake = this.timers.setTimeout(() => {
      this.wake = null;
      this.flush();
    }, ms);
  }

  private cancelWake(): void {
    if (this.wake !== null) this.timers.clearTimeout(this.wake);
    this.wake = null;
  }

  private settle(): void {
    if (this.unsent.length > 0 || this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
