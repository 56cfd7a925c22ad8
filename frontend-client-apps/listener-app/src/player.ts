// Gapless playback of the clip queue that keeps pace with the talk: each MP3 is fetched,
// decoded and scheduled as an AudioBufferSourceNode that starts exactly when the previous
// one ends, on one AudioContext (an <audio> element per clip leaves 10-25 ms gaps). Clips
// play in index order; a missing index is waited for a bounded time, then skipped.
//
// Keeping time: the server already fits each clip to its source's time and trims its
// silences, and clips play back to back, so the talk's pauses are where a listener who
// fell behind catches up. Past `catchUpAfterSeconds` of queued speech clips also play a
// few percent faster (a small pitch rise, no stretch artefacts). Speech is dropped only
// when the listener is far behind (a pause, a network stall, a background tab), and then
// in one jump to live with a notice — never a clip here and there.

export interface AudioBufferLike {
  readonly duration: number;
}
export interface SourceLike {
  buffer: AudioBufferLike | null;
  onended: (() => void) | null;
  playbackRate?: { value: number };
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
  startMs?: number; // on the talk's timeline
  durationMs?: number; // of the source speech
  clipMs?: number; // of the clip, as the server made it
}

export type SkipReason = 'missing' | 'failed';
export interface Jump {
  skipped: number[]; // indexes of the clips not played
  seconds: number; // of speech skipped (estimated for clips not yet downloaded)
  why: 'behind' | 'paused' | 'listener';
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
  catchUpAfterSeconds?: number;
  catchUpRate?: number;
  jumpAfterSeconds?: number;
  jumpSettleMs?: number;
  resumeJumpMs?: number;
  onClipStart?: (clip: Clip, rate: number) => void;
  onSkip?: (index: number, why: SkipReason) => void;
  onJump?: (jump: Jump) => void;
}

type Entry =
  | { status: 'queued'; clip: Clip }
  | { status: 'loading'; clip: Clip }
  | { status: 'ready'; clip: Clip; buffer: AudioBufferLike }
  | { status: 'failed'; clip?: Clip };

export interface ScheduledClip {
  index: number;
  clip: Clip;
  start: number;
  end: number;
  rate: number;
  source: SourceLike;
  captionTimer: unknown; // fires onClipStart; cancelled on pause, switch and jump
}

const UNKNOWN_CLIP_SECONDS = 3; // a clip announced without a length: a typical utterance

export class ClipPlayer {
  readonly scheduled: ScheduledClip[] = [];
  private readonly entries = new Map<number, Entry>();
  private nextIndex: number | null = null;
  private playheadEnd = 0;
  private skipTimer: unknown = null;
  private jumpTimer: unknown = null;
  private pausedAt: number | null = null;
  private readonly o: Required<PlayerOptions>;

  constructor(options: PlayerOptions) {
    this.o = {
      prefetch: 3,
      retries: 3,
      retryDelayMs: 400,
      skipAfterMs: 2000, // utterances are processed in parallel: a later one may come first
      leadSeconds: 0.08,
      catchUpAfterSeconds: 2.5,
      catchUpRate: 1.05,
      jumpAfterSeconds: 15, // a listener normally has one clip (3-7 s) queued
      jumpSettleMs: 500, // a stalled network delivers in a burst: jump once, to its newest clip
      resumeJumpMs: 5000, // a pause longer than this resumes live, not where it stopped
      onClipStart: () => undefined,
      onSkip: () => undefined,
      onJump: () => undefined,
      ...options,
    };
  }

  get paused(): boolean {
    return this.pausedAt !== null;
  }

  /** Seconds of speech waiting to be heard: the scheduled rest plus what is queued. */
  get queuedSeconds(): number {
    const scheduled = this.scheduledRemaining(this.o.context.currentTime);
    let waiting = 0;
    for (const [index, entry] of this.entries) {
      if (this.nextIndex !== null && index < this.nextIndex) continue;
      waiting += this.lengthOf(entry);
    }
    return scheduled + waiting;
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
    for (const item of this.scheduled) this.cancelCaption(item);
    void this.o.context.suspend();
  }

  resume(): void {
    if (this.pausedAt === null) return;
    const pausedFor = this.o.timers.now() - this.pausedAt;
    this.pausedAt = null;
    // The talk went on meanwhile: hearing what was said during a long pause would leave
    // the listener that far behind for the rest of the talk.
    if (pausedFor >= this.o.resumeJumpMs && this.canSkip()) this.jumpToLive('paused');
    void this.o.context.resume();
    const now = this.o.context.currentTime;
    for (const item of this.scheduled) if (item.start >= now) this.armCaption(item, now);
    this.pump();
  }

  /** Forget everything (a language switch): nothing of the old queue is played or captioned. */
  reset(): void {
    this.stopScheduled();
    this.entries.clear();
    this.nextIndex = null;
    this.playheadEnd = 0;
    this.clearSkipTimer();
    if (this.jumpTimer !== null) this.o.timers.clearTimeout(this.jumpTimer);
    this.jumpTimer = null;
  }

  /** Skips to the newest clip that has arrived, in one step. */
  jumpToLive(why: Jump['why'] = 'listener'): void {
    if (this.jumpTimer !== null) this.o.timers.clearTimeout(this.jumpTimer);
    this.jumpTimer = null;
    const now = this.o.context.currentTime;
    // The clip being heard is cut, not counted as skipped: its caption was shown.
    const skipped = this.scheduled.filter((item) => item.start > now).map((item) => item.index);
    let seconds = this.scheduledRemaining(now);
    this.stopScheduled();
    const waiting = [...this.entries.keys()].filter((index) => this.nextIndex === null || index >= this.nextIndex);
    const latest = waiting.length ? Math.max(...waiting) : null;
    for (const index of waiting) {
      if (index === latest) continue;
      const entry = this.entries.get(index);
      if (entry && entry.status !== 'failed') {
        skipped.push(index);
        seconds += this.lengthOf(entry);
      }
      this.entries.delete(index);
    }
    if (latest !== null) this.nextIndex = latest;
    this.playheadEnd = 0;
    this.clearSkipTimer();
    // Cutting the clip being heard is a jump too: the listener is told, once.
    if (skipped.length || seconds > 0) this.o.onJump({ skipped: skipped.sort((a, b) => a - b), seconds, why });
    this.pump();
  }

  /** Seconds of scheduled audio not yet heard at `now`. */
  private scheduledRemaining(now: number): number {
    return this.scheduled
      .filter((item) => item.end > now)
      .reduce((sum, item) => sum + item.end - Math.max(item.start, now), 0);
  }

  /** Something to skip besides the newest clip (a jump that skips nothing changes nothing). */
  private canSkip(): boolean {
    const now = this.o.context.currentTime;
    const waiting = [...this.entries.keys()].filter((index) => this.nextIndex === null || index >= this.nextIndex);
    return this.scheduled.some((item) => item.end > now) || waiting.length > 1;
  }

  private lengthOf(entry: Entry): number {
    if (entry.status === 'ready') return entry.buffer.duration;
    if (entry.status === 'failed' || !entry.clip) return 0;
    const ms = entry.clip.clipMs ?? entry.clip.durationMs;
    return ms === undefined ? UNKNOWN_CLIP_SECONDS : ms / 1000;
  }

  private stopScheduled(): void {
    for (const item of this.scheduled) {
      this.cancelCaption(item);
      item.source.onended = null;
      try {
        item.source.stop();
      } catch {
        // never started or already ended
      }
    }
    this.scheduled.length = 0;
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
    if (this.paused || this.jumpTimer !== null) return;
    while (this.nextIndex !== null) {
      const entry = this.entries.get(this.nextIndex);
      if (!entry || entry.status === 'queued' || entry.status === 'loading') return;
      if (entry.status === 'ready' && this.queuedSeconds > this.o.jumpAfterSeconds && this.canSkip()) {
        // Far behind: wait for the rest of a burst, then keep only its newest clip.
        this.jumpTimer = this.o.timers.setTimeout(() => this.jumpToLive('behind'), this.o.jumpSettleMs);
        return;
      }
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
    const behind = start - now > this.o.catchUpAfterSeconds;
    const rate = behind ? this.o.catchUpRate : 1;
    const source = context.createBufferSource();
    source.buffer = buffer;
    if (source.playbackRate) source.playbackRate.value = rate;
    source.connect(this.o.destination);
    source.start(start);
    const item: ScheduledClip = {
      index: clip.index,
      clip,
      start,
      end: start + buffer.duration / rate,
      rate,
      source,
      captionTimer: null,
    };
    this.scheduled.push(item);
    this.playheadEnd = item.end;
    source.onended = () => {
      const at = this.scheduled.indexOf(item);
      if (at >= 0) this.scheduled.splice(at, 1);
    };
    this.armCaption(item, now);
  }

  /** The caption (and the played count) follow the audio: shown when the clip starts. */
  private armCaption(item: ScheduledClip, now: number): void {
    this.cancelCaption(item);
    item.captionTimer = this.o.timers.setTimeout(() => {
      item.captionTimer = null;
      this.o.onClipStart(item.clip, item.rate);
    }, Math.max(0, (item.start - now) * 1000));
  }

  private cancelCaption(item: ScheduledClip): void {
    if (item.captionTimer !== null) this.o.timers.clearTimeout(item.captionTimer);
    item.captionTimer = null;
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
