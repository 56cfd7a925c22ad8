// Gapless playback of the clip queue: each MP3 is fetched, decoded and scheduled as an
// AudioBufferSourceNode that starts exactly when the previous one ends, on one
// AudioContext (an <audio> element per clip leaves 10-25 ms gaps). Clips play in index
// order; a missing index is waited for a bounded time, then skipped.

export interface AudioBufferLike {
  readonly duration: number;
}
export interface SourceLike {
  buffer: AudioBufferLike | null;
  onended: (() => void) | null;
  connect(destination: unknown): unknown;
  start(when: number): void;
  stop(): void;
}
export interface AudioContextLike {
  readonly currentTime: number;
  readonly state: string;
  createBufferSource(): SourceLike;
  decodeAudioData(data: ArrayBuffer): Promise<AudioBufferLike>;
  resume(): Promise<void>;
  suspend(): Promise<void>;
}
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Clip {
  index: number;
  url: string;
  text: string;
  sourceText: string;
}

export interface PlayerOptions {
  context: AudioContextLike;
  destination: unknown;
  fetchClip: (url: string) => Promise<ArrayBuffer>;
  timers: Timers;
  prefetch?: number;
  retries?: number;
  retryDelayMs?: number;
  skipAfterMs?: number;
  leadSeconds?: number;
  maxLagSeconds?: number;
  pausedKeepMs?: number;
  onClipStart?: (clip: Clip) => void;
  onSkip?: (index: number, why: 'missing' | 'failed' | 'behind') => void;
}

type Entry =
  | { status: 'queued'; clip: Clip }
  | { status: 'loading'; clip: Clip }
  | { status: 'ready'; clip: Clip; buffer: AudioBufferLike }
  | { status: 'failed'; clip?: Clip };

export interface ScheduledClip {
  index: number;
  start: number;
  end: number;
  source: SourceLike;
}

export class ClipPlayer {
  readonly scheduled: ScheduledClip[] = [];
  private readonly entries = new Map<number, Entry>();
  private nextIndex: number | null = null;
  private playheadEnd = 0;
  private skipTimer: unknown = null;
  private pausedAt: number | null = null;
  private readonly o: Required<PlayerOptions>;

  constructor(options: PlayerOptions) {
    this.o = {
      prefetch: 3,
      retries: 3,
      retryDelayMs: 400,
      skipAfterMs: 1200, // a silent batch sends nothing: waiting long would stall after every pause
      leadSeconds: 0.08,
      maxLagSeconds: 8,
      pausedKeepMs: 30_000,
      onClipStart: () => undefined,
      onSkip: () => undefined,
      ...options,
    };
  }

  get paused(): boolean {
    return this.pausedAt !== null;
  }

  /** Seconds of audio scheduled ahead of the playhead. */
  get backlogSeconds(): number {
    return Math.max(0, this.playheadEnd - this.o.context.currentTime);
  }

  add(clip: Clip): void {
    if (this.nextIndex !== null && clip.index < this.nextIndex) return; // too late: already past
    if (this.entries.has(clip.index)) return; // a duplicate message
    if (this.nextIndex === null) this.nextIndex = clip.index;
    this.entries.set(clip.index, { status: 'queued', clip });
    this.pump();
  }

  /** The server could not make this index (TRANSLATION_UNAVAILABLE): don't wait for it. */
  unavailable(index: number): void {
    if (this.nextIndex !== null && index < this.nextIndex) return;
    if (this.nextIndex === null) this.nextIndex = index;
    this.entries.set(index, { status: 'failed' });
    this.pump();
  }

  pause(): void {
    if (this.pausedAt !== null) return;
    this.pausedAt = this.o.timers.now();
    void this.o.context.suspend();
  }

  resume(): void {
    if (this.pausedAt === null) return;
    const pausedFor = this.o.timers.now() - this.pausedAt;
    this.pausedAt = null;
    if (pausedFor > this.o.pausedKeepMs) this.jumpToLive();
    void this.o.context.resume();
    this.pump();
  }

  /** Forget everything (a language switch): nothing of the old queue is played. */
  reset(): void {
    for (const item of this.scheduled) this.stopQuietly(item.source);
    this.scheduled.length = 0;
    this.entries.clear();
    this.nextIndex = null;
    this.playheadEnd = 0;
    this.clearSkipTimer();
  }

  private jumpToLive(): void {
    const indices = [...this.entries.keys()];
    const latest = indices.length ? Math.max(...indices) : null;
    for (const item of this.scheduled) this.stopQuietly(item.source);
    this.scheduled.length = 0;
    for (const index of indices) if (latest === null || index < latest) this.entries.delete(index);
    this.nextIndex = latest;
    this.playheadEnd = 0;
  }

  private stopQuietly(source: SourceLike): void {
    source.onended = null;
    try {
      source.stop();
    } catch {
      // never started or already ended
    }
  }

  private pump(): void {
    this.prefetch();
    this.scheduleReady();
    this.armSkip();
  }

  private prefetch(): void {
    const waiting = [...this.entries.entries()]
      .filter(([index]) => this.nextIndex === null || index >= this.nextIndex)
      .sort(([a], [b]) => a - b);
    let inFlight = waiting.filter(([, e]) => e.status === 'loading' || e.status === 'ready').length;
    for (const [index, entry] of waiting) {
      if (inFlight >= this.o.prefetch) break;
      if (entry.status !== 'queued') continue;
      inFlight += 1;
      this.entries.set(index, { status: 'loading', clip: entry.clip });
      void this.load(index, entry.clip);
    }
  }

  private async load(index: number, clip: Clip): Promise<void> {
    for (let attempt = 0; attempt <= this.o.retries; attempt += 1) {
      try {
        const data = await this.o.fetchClip(clip.url);
        const buffer = await this.o.context.decodeAudioData(data);
        if (this.entries.get(index)?.status !== 'loading') return; // reset meanwhile
        this.entries.set(index, { status: 'ready', clip, buffer });
        this.pump();
        return;
      } catch {
        if (attempt < this.o.retries) await this.sleep(this.o.retryDelayMs * (attempt + 1));
      }
    }
    if (this.entries.get(index)?.status !== 'loading') return;
    this.entries.set(index, { status: 'failed', clip });
    this.pump();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.o.timers.setTimeout(resolve, ms));
  }

  private scheduleReady(): void {
    if (this.paused) return;
    while (this.nextIndex !== null) {
      const entry = this.entries.get(this.nextIndex);
      if (!entry || entry.status === 'queued' || entry.status === 'loading') return;
      this.entries.delete(this.nextIndex);
      if (entry.status === 'failed') {
        this.o.onSkip(this.nextIndex, 'failed');
      } else {
        this.schedule(entry.clip, entry.buffer);
      }
      this.nextIndex += 1;
    }
  }

  private schedule(clip: Clip, buffer: AudioBufferLike): void {
    const { context } = this.o;
    const now = context.currentTime;
    const start = Math.max(this.playheadEnd, now + this.o.leadSeconds);
    if (start - now > this.o.maxLagSeconds) {
      // Too far behind live: drop this clip rather than drift further from the speaker.
      this.o.onSkip(clip.index, 'behind');
      return;
    }
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.o.destination);
    source.start(start);
    const item = { index: clip.index, start, end: start + buffer.duration, source };
    this.scheduled.push(item);
    this.playheadEnd = item.end;
    source.onended = () => {
      const at = this.scheduled.indexOf(item);
      if (at >= 0) this.scheduled.splice(at, 1);
    };
    this.o.timers.setTimeout(() => this.o.onClipStart(clip), Math.max(0, (start - now) * 1000));
  }

  private clearSkipTimer(): void {
    if (this.skipTimer !== null) this.o.timers.clearTimeout(this.skipTimer);
    this.skipTimer = null;
  }

  /** When the next index is missing but later ones are here, wait a bounded time, then skip. */
  private armSkip(): void {
    const missing = this.nextIndex;
    const later = [...this.entries.keys()].filter((index) => missing !== null && index > missing);
    if (missing === null || this.entries.has(missing) || later.length === 0) {
      this.clearSkipTimer();
      return;
    }
    if (this.skipTimer !== null) return;
    this.skipTimer = this.o.timers.setTimeout(() => {
      this.skipTimer = null;
      if (this.nextIndex !== missing || this.entries.has(missing)) return;
      const next = Math.min(...[...this.entries.keys()].filter((index) => index > missing));
      for (let index = missing; index < next; index += 1) this.o.onSkip(index, 'missing');
      this.nextIndex = next;
      this.pump();
    }, this.o.skipAfterMs);
  }
}
