// The speaker's broadcast, apart from the page: the session it creates (or resumes on every
// new connection), the audio chunks in an ordered queue, and the controls (pause, resume,
// end) each sent after the audio recorded before it. The socket and the queue are given to
// it, so that Vitest drives it with fakes; the page (main.ts) only draws what it reports.
//
// - A Create click is never lost: before the connection is open it is held and sent as
//   soon as the connection is (the page shows "creating" meanwhile).
// - A new connection carries nothing until its resume (createSession with resumeSessionId)
//   is answered; audio and controls wait. An unanswered resume is asked again now and
//   then; a refusal for good (not found, expired, someone else's) stops the retries.
// - After a resume the server's broadcast is brought in line with the speaker's last click
//   (session.ts `reconcile`), and chunks sent into the dying socket are sent again.
import type { ClientAction, ServerMessage, Timers } from '@llt/shared';
import type { Chunk } from './chunks';
import { chunkError, reconcile, type BroadcastState } from './session';

export const RESUME_TIMEOUT_MS = 5000;
export const RESUME_RETRY_MS = 10_000;
const SLOWED_MS = 3000;
const TIMESLICE_MS = 250; // one chunk of MediaRecorder audio

/** What the broadcast needs of the connection (shared/src/socket.ts ProtocolSocket). */
export interface SessionSocket {
  readonly isOpen: boolean;
  send(message: ClientAction): boolean;
  sendDuringSetup(message: ClientAction): void;
}

/** What the broadcast needs of the chunk queue (chunks.ts ChunkQueue). */
export interface QueueLike {
  readonly length: number;
  readonly dropped: number;
  push(chunk: Chunk): void;
  requeue(seq: number): boolean;
  resendAfter(lastSeq: number): number;
  clear(): void;
  whenEmpty(): Promise<void>;
  flush(): void;
}

/** What the page is told; it chooses the words (strings.ts). */
export type Notice = 'resumeFailed' | 'endedWhileAway';
export interface BroadcastEvents {
  /** The session was created: show its code, link and QR. */
  created(sessionId: string, listenerUrl: string, sourceLanguage: string): void;
  /** A notice for the speaker (null clears it). */
  notice(notice: Notice | null): void;
  /** An error for the page to show (not one the broadcast handles itself: resends, resumes). */
  refused(message: Extract<ServerMessage, { type: 'error' }>): void;
  /** The session is over: stop recording. */
  ended(): void;
  /** Creating (held or sent) or not: the Create button shows it. */
  creating(on: boolean): void;
}

export type SendStatus =
  | { kind: 'none' }
  | { kind: 'lost'; lostSeconds: number; seconds: number }
  | { kind: 'hopeless' | 'holding' | 'catchingUp'; seconds: number }
  | { kind: 'slowed' };

type ResumeResult = 'resumed' | 'refused' | 'ended' | 'unanswered';
type CreateRequest = Extract<ClientAction, { action: 'createSession' }>;

export interface BroadcastOptions {
  socket: SessionSocket;
  makeQueue: (send: (chunk: Chunk) => boolean) => QueueLike;
  events: BroadcastEvents;
  timers: Timers;
}

export class Broadcast {
  sessionId = '';
  state: BroadcastState | 'ended' = 'idle';
  private sourceLanguage = '';
  private seq = 0;
  readonly queue: QueueLike;
  private creating: CreateRequest | null = null; // held until the connection is open, then sent
  private ending = false; // the speaker confirmed the end
  private endSent = false;
  private over = false; // nothing more is sent
  private attached = false; // this connection carries the session
  private resumeWaiter: ((result: ResumeResult) => void) | null = null;
  private resuming = false;
  private resumeAttempt = 0;
  private resumeFailedShown = false;
  private resumeHopeless = false;
  private slowedUntil = 0;
  private converting: Promise<void> = Promise.resolve(); // each chunk's conversion, in recording order
  private control: Promise<void> = Promise.resolve(); // controls in click order, each after its audio
  private readyWaiters: (() => void)[] = [];

  constructor(private readonly o: BroadcastOptions) {
    this.queue = o.makeQueue((chunk) => this.sendToSession({ action: 'audioChunk', sessionId: this.sessionId, seq: chunk.seq, data: chunk.data }));
  }

  get isOver(): boolean {
    return this.over;
  }

  get isEnding(): boolean {
    return this.ending || this.over;
  }

  // -- the session ---------------------------------------------------------------

  /** The Create click: sent now, or held until the connection is open. False when a
   * session exists or is being created (one session per page). */
  create(sourceLanguage: string, title: string): boolean {
    if (this.sessionId || this.creating) return false;
    this.creating = { action: 'createSession', sourceLanguage, ...(title ? { title } : {}) };
    this.o.socket.send(this.creating); // false before the connection is open: connected() sends it
    this.o.events.creating(true);
    return true;
  }

  /** The socket's onConnected: a held Create goes out, or the session is taken over. */
  async connected(socket: SessionSocket): Promise<void> {
    this.attached = false;
    if (this.creating && !this.sessionId) {
      // Sent into a connection that died before answering, or held: (again) on this one.
      socket.sendDuringSetup(this.creating);
      return;
    }
    if (!this.sessionId || this.over) return;
    const attempt = ++this.resumeAttempt;
    this.resuming = true;
    this.resumeHopeless = false;
    const result = await new Promise<ResumeResult>((resolve) => {
      this.resumeWaiter = resolve;
      this.o.timers.setTimeout(() => resolve('unanswered'), RESUME_TIMEOUT_MS);
      socket.sendDuringSetup({ action: 'createSession', sourceLanguage: this.sourceLanguage, resumeSessionId: this.sessionId });
    });
    if (attempt !== this.resumeAttempt) return; // a newer connection has taken over
    this.resumeWaiter = null;
    // Audio is held back meanwhile; a late answer still resumes (and clears the notice).
    if ((result === 'refused' || result === 'unanswered') && !this.attached && !this.over) {
      this.o.events.notice('resumeFailed');
      this.resumeFailedShown = true;
      if (result === 'unanswered') this.retryResume(attempt);
    }
  }

  /** The socket is open again: queued audio and waiting controls may flow. */
  opened(): void {
    this.queue.flush();
    this.wakeControls();
  }

  /** The server's messages about the session; the rest is the page's to draw. */
  handle(message: ServerMessage): void {
    if (message.type === 'sessionCreated') this.sessionCreated(message);
    else if (message.type === 'sessionEnded' && message.sessionId === this.sessionId) this.finish();
    else if (message.type === 'error') this.refused(message);
  }

  // -- audio and controls ------------------------------------------------------------

  /** A chunk recorded: its seq is taken now, in recording order; conversions run one after another. */
  record(convert: () => Promise<string>): void {
    const seq = this.seq++;
    this.converting = this.converting
      .then(async () => {
        const data = await convert();
        if (!this.over) this.queue.push({ seq, data });
      })
      .catch(() => undefined);
  }

  pause(): void {
    this.state = 'paused';
    this.afterAudio({ action: 'pauseBroadcast', sessionId: this.sessionId });
  }

  resume(): void {
    this.state = 'live';
    this.afterAudio({ action: 'resumeBroadcast', sessionId: this.sessionId });
  }

  started(): void {
    this.state = 'live';
  }

  /** The confirmed end: once the audio recorded before it has gone (a paused broadcast is
   * resumed first, or the server would refuse its last audio). */
  end(wasPaused: boolean): void {
    if (this.ending || this.over) return;
    this.ending = true;
    if (wasPaused) this.afterAudio({ action: 'resumeBroadcast', sessionId: this.sessionId });
  }

  /** The recorder stopped (after end(), or the microphone went away): the session ends. */
  recordingStopped(): void {
    if (!this.over) this.afterAudio({ action: 'endSession', sessionId: this.sessionId });
  }

  sendStatus(now: number): SendStatus {
    const seconds = Math.max(1, Math.round((this.queue.length * TIMESLICE_MS) / 1000));
    const lostSeconds = Math.round((this.queue.dropped * TIMESLICE_MS) / 1000);
    const backlog = this.queue.length >= 4;
    if (this.over) return { kind: 'none' };
    if (lostSeconds > 0 && backlog) return { kind: 'lost', lostSeconds, seconds };
    if (backlog && !this.attached && this.resumeHopeless) return { kind: 'hopeless', seconds };
    if (backlog && !this.attached) return { kind: 'holding', seconds };
    if (backlog) return { kind: 'catchingUp', seconds };
    if (now < this.slowedUntil) return { kind: 'slowed' };
    return { kind: 'none' };
  }

  // -- inside --------------------------------------------------------------------

  private sendToSession(message: ClientAction): boolean {
    return this.attached && !this.over && this.o.socket.send(message);
  }

  private wakeControls(): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const wake of waiters) wake();
  }

  /** This connection now carries the session: held audio and controls flow again. */
  private attach(): void {
    this.attached = true;
    this.queue.flush();
    this.wakeControls();
  }

  /** Sends a control once the audio recorded before it has gone, and once the session is reachable. */
  private afterAudio(message: ClientAction): void {
    this.control = this.control
      .then(async () => {
        for (;;) {
          await this.converting;
          await this.queue.whenEmpty();
          if (this.over) return;
          // The end says which chunk was the last: if it overtakes that chunk on the way
          // (each message is its own invocation), the server still takes the chunk.
          const outgoing: ClientAction = message.action === 'endSession' ? { ...message, lastSeq: this.seq - 1 } : message;
          if (this.sendToSession(outgoing)) {
            if (message.action === 'endSession') this.endSent = true;
            return;
          }
          await new Promise<void>((resolve) => this.readyWaiters.push(resolve));
        }
      })
      .catch(() => undefined);
  }

  /** The session is over (ended, or refused on resume): stop and send nothing more. */
  private finish(notice?: Notice | null): void {
    this.over = true;
    this.attached = false;
    this.state = 'ended';
    this.queue.clear();
    this.wakeControls();
    this.o.events.ended();
    if (notice !== undefined) this.o.events.notice(notice);
  }

  private sessionCreated(message: Extract<ServerMessage, { type: 'sessionCreated' }>): void {
    if (message.resumed) {
      this.resumed(message);
      return;
    }
    if (this.sessionId) return; // not ours to show: this page speaks one session
    this.creating = null;
    this.o.events.creating(false);
    this.sessionId = message.sessionId;
    this.sourceLanguage = message.sourceLanguage;
    this.attach();
    this.o.events.created(message.sessionId, message.listenerUrl ?? '', message.sourceLanguage);
  }

  private resumed(message: Extract<ServerMessage, { type: 'sessionCreated' }>): void {
    this.resuming = false;
    if (this.over) return;
    // Chunks sent into the dying socket may never have arrived: send them again.
    if (typeof message.lastSeq === 'number') this.queue.resendAfter(message.lastSeq);
    const fix = this.state === 'ended' ? null : reconcile(this.state, message.status);
    // A lost resume goes out before the held audio (the server refuses audio while paused).
    if (fix === 'resumeBroadcast') this.o.socket.sendDuringSetup({ action: fix, sessionId: this.sessionId });
    this.attach();
    if (fix === 'pauseBroadcast') this.afterAudio({ action: fix, sessionId: this.sessionId });
    if (this.ending && this.endSent) this.afterAudio({ action: 'endSession', sessionId: this.sessionId }); // it may have died with the socket
    this.resumeWaiter?.('resumed');
    if (this.resumeFailedShown) {
      this.o.events.notice(null);
      this.resumeFailedShown = false;
    }
  }

  private resumeRefused(message: Extract<ServerMessage, { type: 'error' }>): void {
    this.resuming = false;
    if (message.code === 'SESSION_ENDED') {
      // Ended while the speaker was away (the grace period passed), or by the End click.
      this.finish(this.ending ? null : 'endedWhileAway');
      this.resumeWaiter?.('ended');
      return;
    }
    const transient = message.code === 'INTERNAL_ERROR' || message.code === 'RATE_LIMITED';
    if (!transient) this.resumeHopeless = true;
    if (this.resumeWaiter) {
      this.resumeWaiter(transient ? 'unanswered' : 'refused');
    } else if (!this.over) {
      this.o.events.notice('resumeFailed'); // a late refusal (a retry's)
      this.resumeFailedShown = true;
    }
  }

  /** While a resume goes unanswered on an open connection, it is asked again now and then. */
  private retryResume(attempt: number): void {
    this.o.timers.setTimeout(() => {
      if (attempt !== this.resumeAttempt || this.attached || this.over || this.resumeHopeless || !this.o.socket.isOpen) return;
      this.resuming = true;
      this.o.socket.send({ action: 'createSession', sourceLanguage: this.sourceLanguage, resumeSessionId: this.sessionId });
      this.retryResume(attempt);
    }, RESUME_RETRY_MS);
  }

  private refused(message: Extract<ServerMessage, { type: 'error' }>): void {
    if (message.action === 'createSession' && this.resuming) {
      this.resumeRefused(message);
      return;
    }
    if (message.action === 'createSession') {
      this.creating = null;
      this.o.events.creating(false);
    }
    const chunk = chunkError(message);
    if (chunk !== null && this.over) return; // answers to audio sent before the end
    if (chunk === 'resend' && typeof message.seq === 'number') {
      // Not stored: it goes out again, paced; being slowed down is no error of the speaker's.
      this.queue.requeue(message.seq);
      if (message.code === 'RATE_LIMITED') this.slowedUntil = this.o.timers.now() + SLOWED_MS;
      return;
    }
    if (chunk === 'quiet') return;
    this.o.events.refused(message);
  }
}
