import { beforeEach, describe, expect, it } from 'vitest';
import { ProtocolSocket, type ServerMessage, type SocketLike } from '@llt/shared';
import { FakeTimers, settle } from '../../shared/test/fake-timers';
import { translator } from '../src/i18n';
import { bannerKey, Membership, nextBanner, rejoinOnConnect, type BannerKind } from '../src/session';

const ID = 'swift-falcon-0420';
const joined = (fields: Partial<Extract<ServerMessage, { type: 'sessionJoined' }>> = {}): ServerMessage => ({
  type: 'sessionJoined',
  sessionId: ID,
  targetLanguage: 'es',
  sourceLanguage: 'en',
  title: 'Keynote',
  status: 'active',
  ...fields,
});

describe('the session banner', () => {
  const run = (messages: ServerMessage[], from: BannerKind = 'none') => messages.map((m) => (from = nextBanner(from, m)));

  it("tells in plain words that the speaker's connection dropped, until they are back", () => {
    const suspended: ServerMessage = {
      type: 'sessionSuspended',
      sessionId: ID,
      reason: 'speakerDisconnected',
      resumeBy: 1_800_000_120,
    };
    expect(run([joined(), suspended, { type: 'sessionResumed', sessionId: ID }])).toEqual(['none', 'suspended', 'none']);
    expect(run([suspended, { type: 'sessionPaused', sessionId: ID }])).toEqual(['suspended', 'paused']);
    expect(run([suspended, { type: 'sessionEnded', sessionId: ID, reason: 'speakerDisconnected' }])).toEqual([
      'suspended',
      'speakerGone',
    ]);
    const english = translator('en');
    expect(english(bannerKey('suspended')!)).toBe("The speaker's connection dropped — waiting for them to come back…");
    expect(english(bannerKey('speakerGone')!)).toMatch(/ended/);
    expect(bannerKey('none')).toBeNull();
  });

  it('follows the status of sessionJoined, suspended included', () => {
    expect(nextBanner('none', joined({ status: 'suspended' }))).toBe('suspended');
    expect(nextBanner('none', joined({ status: 'paused' }))).toBe('paused');
    expect(nextBanner('suspended', joined({ status: 'active' }))).toBe('none');
    expect(nextBanner('none', { type: 'sessionEnded', sessionId: ID, reason: 'endedBySpeaker' })).toBe('ended');
  });

  it('is not changed by other messages, and ends when a re-join finds the session over', () => {
    expect(nextBanner('suspended', { type: 'heartbeat', serverTime: 1 })).toBe('suspended');
    const refused = (code: 'SESSION_ENDED' | 'RATE_LIMITED'): ServerMessage => ({
      type: 'error',
      code,
      message: 'x',
      action: 'joinSession',
    });
    expect(nextBanner('suspended', refused('SESSION_ENDED'))).toBe('speakerGone');
    expect(nextBanner('none', refused('SESSION_ENDED'))).toBe('ended');
    expect(nextBanner('paused', refused('RATE_LIMITED'))).toBe('paused');
  });
});

describe('Membership', () => {
  it('takes a code in any case and with stray spaces, and refuses what is not a code', () => {
    const member = new Membership();
    expect(member.choose('  Swift-FALCON-0420 ', 'es')).toBe(true);
    expect(member.sessionId).toBe(ID);
    expect(member.choose('swift-falcon-042', 'es')).toBe(false); // the old three digits
    expect(member.sessionId).toBe(ID);
    expect(new Membership().join()).toBeNull();
  });

  it('sends no token on the first join, then the newest one on every re-join', () => {
    const member = new Membership();
    member.choose(ID, 'es');
    expect(member.join()).toEqual({ action: 'joinSession', sessionId: ID, targetLanguage: 'es' });
    member.absorb(joined({ rejoinToken: 'tok-aaaaaaaaaaaaaaaa' }));
    expect(member.join()).toEqual({
      action: 'joinSession',
      sessionId: ID,
      targetLanguage: 'es',
      rejoinToken: 'tok-aaaaaaaaaaaaaaaa',
    });
    // A language switch is answered without a token: the last one still holds, in the new language.
    member.language = 'fr';
    member.absorb(joined({ targetLanguage: 'fr' }));
    expect(member.join()).toMatchObject({ targetLanguage: 'fr', rejoinToken: 'tok-aaaaaaaaaaaaaaaa' });
    member.absorb(joined({ targetLanguage: 'fr', rejoinToken: 'tok-bbbbbbbbbbbbbbbb' }));
    expect(member.join()?.rejoinToken).toBe('tok-bbbbbbbbbbbbbbbb');
  });

  it("drops the token for another session, and stops re-joining once refused", () => {
    const member = new Membership();
    member.choose(ID, 'es');
    member.absorb(joined({ rejoinToken: 'tok-aaaaaaaaaaaaaaaa' }));
    member.choose('quiet-harbor-0001', 'es');
    expect(member.join()).not.toHaveProperty('rejoinToken');
    member.leave();
    expect(member.join()).toBeNull();
  });
});

class FakeSocket implements SocketLike {
  static made: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor() {
    FakeSocket.made.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: '' });
  }
  receive(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

describe('re-joining on a new connection', () => {
  let timers: FakeTimers;
  beforeEach(() => {
    FakeSocket.made = [];
    timers = new FakeTimers();
  });

  function listen(member: Membership, renewAfterMs = 100 * 60_000) {
    const socket = new ProtocolSocket({
      url: () => 'ws://gateway/ws',
      factory: () => new FakeSocket(),
      timers,
      random: () => 0.5,
      renewAfterMs,
      onConnected: rejoinOnConnect(member),
    });
    socket.onMessage((message) => member.absorb(message));
    return socket;
  }

  const joins = (socket: FakeSocket) => socket.sent.map((text) => JSON.parse(text) as Record<string, unknown>);

  it('sends the rejoin token in the joinSession after a reconnect', async () => {
    const member = new Membership();
    member.choose(ID, 'es');
    listen(member).start();
    await settle();
    FakeSocket.made[0]!.open();
    await settle();
    expect(joins(FakeSocket.made[0]!)).toEqual([{ action: 'joinSession', sessionId: ID, targetLanguage: 'es' }]);
    FakeSocket.made[0]!.receive(joined({ rejoinToken: 'tok-aaaaaaaaaaaaaaaa' }));
    FakeSocket.made[0]!.drop();
    await timers.advance(1000);
    FakeSocket.made[1]!.open();
    await settle();
    expect(joins(FakeSocket.made[1]!)).toEqual([
      { action: 'joinSession', sessionId: ID, targetLanguage: 'es', rejoinToken: 'tok-aaaaaaaaaaaaaaaa' },
    ]);
  });

  it('sends it on the renewal before the 2-hour limit, too', async () => {
    const member = new Membership();
    member.choose(ID, 'de');
    listen(member, 60_000).start();
    await settle();
    FakeSocket.made[0]!.open();
    await settle();
    FakeSocket.made[0]!.receive(joined({ targetLanguage: 'de', rejoinToken: 'tok-cccccccccccccccc' }));
    await timers.advance(60_000);
    FakeSocket.made[1]!.open();
    await settle();
    expect(joins(FakeSocket.made[1]!)[0]).toEqual({
      action: 'joinSession',
      sessionId: ID,
      targetLanguage: 'de',
      rejoinToken: 'tok-cccccccccccccccc',
    });
  });
});
