import { beforeEach, describe, expect, it } from 'vitest';
import type { ClientAction, ServerMessage } from '@llt/shared';
import { Broadcast, RESUME_RETRY_MS, RESUME_TIMEOUT_MS, type Notice, type SessionSocket } from '../src/broadcast';
import { ChunkQueue } from '../src/chunks';
import { FakeTimers, settle } from '../../shared/test/fake-timers';

/** A connection the test opens and closes; what was sent, in order. */
class FakeSocket implements SessionSocket {
  isOpen = false;
  sent: ClientAction[] = [];
  send(message: ClientAction): boolean {
    if (!this.isOpen) return false;
    this.sent.push(message);
    return true;
  }
  sendDuringSetup(message: ClientAction): void {
    this.sent.push(message);
  }
  actions(): string[] {
    return this.sent.map((m) => (m.action === 'audioChunk' ? `chunk ${m.seq}` : m.action));
  }
}

let socket: FakeSocket;
let timers: FakeTimers;
let notices: (Notice | null)[];
let created: string[];
let creating: boolean[];
let ended: number;
let broadcast: Broadcast;

beforeEach(() => {
  socket = new FakeSocket();
  timers = new FakeTimers();
  notices = [];
  created = [];
  creating = [];
  ended = 0;
  broadcast = new Broadcast({
    socket,
    timers,
    makeQueue: (send) => new ChunkQueue(send, { timers }),
    events: {
      created: (id) => created.push(id),
      notice: (n) => notices.push(n),
      refused: () => undefined,
      ended: () => (ended += 1),
      creating: (on) => creating.push(on),
    },
  });
});

const ID = 'swift-falcon-0420';
const sessionCreated = (extra: Partial<Extract<ServerMessage, { type: 'sessionCreated' }>> = {}): ServerMessage => ({
  type: 'sessionCreated',
  sessionId: ID,
  sourceLanguage: 'en',
  listenerUrl: `https://listen/?session=${ID}`,
  ...extra,
} as ServerMessage);

/** The connection opens (first or again): the socket's onConnected, then its open state. */
async function open(): Promise<void> {
  socket.isOpen = true;
  void broadcast.connected(socket);
  broadcast.opened();
  await settle();
}

async function createdSession(): Promise<void> {
  await open();
  broadcast.create('en', 'Keynote');
  broadcast.handle(sessionCreated());
  await settle();
}

describe('the first Create click', () => {
  it('made before the connection is open is held, then sent once it opens', async () => {
    expect(broadcast.create('en', 'Keynote')).toBe(true);
    expect(socket.sent).toEqual([]);
    expect(creating).toEqual([true]); // the page shows it is on its way
    await open();
    expect(socket.sent).toEqual([{ action: 'createSession', sourceLanguage: 'en', title: 'Keynote' }]);
    broadcast.handle(sessionCreated());
    expect(created).toEqual([ID]);
    expect(creating).toEqual([true, false]);
  });

  it('on an open connection goes at once, and a second click creates nothing more', async () => {
    await open();
    broadcast.create('en', '');
    expect(broadcast.create('en', '')).toBe(false); // a double click
    expect(socket.sent).toEqual([{ action: 'createSession', sourceLanguage: 'en' }]);
    broadcast.handle(sessionCreated());
    expect(broadcast.create('en', '')).toBe(false); // one session per page
    expect(socket.actions()).toEqual(['createSession']);
  });

  it('refused, can be clicked again', async () => {
    await open();
    broadcast.create('xx', '');
    broadcast.handle({ type: 'error', code: 'UNSUPPORTED_LANGUAGE', message: 'no', action: 'createSession' } as ServerMessage);
    expect(creating).toEqual([true, false]);
    expect(broadcast.create('en', '')).toBe(true);
  });
});

describe('audio and controls', () => {
  it('sends chunks in recording order and a control after the audio recorded before it', async () => {
    await createdSession();
    broadcast.started();
    for (const n of [0, 1, 2]) broadcast.record(async () => `data${n}`);
    broadcast.pause();
    await settle();
    expect(socket.actions()).toEqual(['createSession', 'chunk 0', 'chunk 1', 'chunk 2', 'pauseBroadcast']);
  });

  it('ends naming the last chunk sent', async () => {
    await createdSession();
    broadcast.record(async () => 'a');
    broadcast.record(async () => 'b');
    broadcast.end(false);
    broadcast.recordingStopped();
    await settle();
    expect(socket.sent.at(-1)).toEqual({ action: 'endSession', sessionId: ID, lastSeq: 1 });
  });
});

describe('a new connection', () => {
  it('holds audio until the session is resumed, resends what the server lacks, and restores a pause', async () => {
    await createdSession();
    broadcast.started();
    broadcast.record(async () => 'a');
    await settle();
    socket.isOpen = false; // the connection drops
    broadcast.pause(); // clicked while away
    broadcast.record(async () => 'b');
    await settle();
    socket.isOpen = true;
    socket.sent = [];
    void broadcast.connected(socket);
    broadcast.opened();
    await settle();
    expect(socket.actions()).toEqual(['createSession']); // the resume, and nothing else yet
    expect(socket.sent[0]).toMatchObject({ resumeSessionId: ID });
    broadcast.handle(sessionCreated({ resumed: true, status: 'active', lastSeq: -1 }));
    await settle();
    // chunk 0 never arrived; the pause waits for the audio recorded before it (the click made
    // while away and the reconcile both ask for it: a pause is never undone).
    const actions = socket.actions();
    expect(actions.slice(0, 3)).toEqual(['createSession', 'chunk 0', 'chunk 1']);
    expect(new Set(actions.slice(3))).toEqual(new Set(['pauseBroadcast']));
  });

  it('says when the resume is not answered, asks again, and clears the notice once resumed', async () => {
    await createdSession();
    socket.sent = [];
    void broadcast.connected(socket);
    await timers.advance(RESUME_TIMEOUT_MS);
    expect(notices).toEqual(['resumeFailed']);
    await timers.advance(RESUME_RETRY_MS);
    expect(socket.actions()).toEqual(['createSession', 'createSession']);
    broadcast.handle(sessionCreated({ resumed: true, status: 'active' }));
    expect(notices).toEqual(['resumeFailed', null]);
  });

  it('ends the page when the session ended while the speaker was away', async () => {
    await createdSession();
    void broadcast.connected(socket);
    broadcast.handle({ type: 'error', code: 'SESSION_ENDED', message: 'ended', action: 'createSession' } as ServerMessage);
    await settle();
    expect(ended).toBe(1);
    expect(notices).toEqual(['endedWhileAway']);
    expect(broadcast.isOver).toBe(true);
    broadcast.record(async () => 'late');
    await settle();
    expect(socket.actions().filter((a) => a.startsWith('chunk'))).toEqual([]);
  });
});

describe('what the speaker is told about sending', () => {
  it('holding audio while the session is away, catching up once back', async () => {
    await createdSession();
    socket.isOpen = false;
    void broadcast.connected(socket); // a new connection, not yet resumed
    for (let n = 0; n < 8; n += 1) broadcast.record(async () => `c${n}`);
    await settle();
    expect(broadcast.sendStatus(timers.now())).toEqual({ kind: 'holding', seconds: 2 });
    broadcast.handle({ type: 'sessionEnded', sessionId: ID, reason: 'endedBySpeaker' } as ServerMessage);
    expect(broadcast.sendStatus(timers.now())).toEqual({ kind: 'none' });
  });
});
