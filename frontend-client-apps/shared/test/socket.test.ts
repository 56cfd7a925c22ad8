import { beforeEach, describe, expect, it } from 'vitest';
import { ProtocolSocket, sendWhenOpen, type SocketLike } from '../src/socket';
import { FakeTimers, settle as flush } from './fake-timers';

class FakeSocket implements SocketLike {
  static made: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closed = true;
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



let timers: FakeTimers;
beforeEach(() => {
  FakeSocket.made = [];
  timers = new FakeTimers();
});

function socket(extra: Partial<ConstructorParameters<typeof ProtocolSocket>[0]> = {}) {
  return new ProtocolSocket({
    url: () => 'ws://gateway/ws',
    factory: (url) => new FakeSocket(url),
    timers,
    random: () => 0.5,
    ...extra,
  });
}

describe('ProtocolSocket', () => {
  it('reconnects with growing backoff and reports its state', async () => {
    const states: string[] = [];
    const s = socket();
    s.onState((state) => states.push(state));
    s.start();
    await flush();
    FakeSocket.made[0]!.open();
    await flush();
    expect(s.isOpen).toBe(true);
    FakeSocket.made[0]!.drop();
    expect(s.isOpen).toBe(false);
    await timers.advance(374); // first retry after 375 ms (half of 500 ms + half of the jitter)
    expect(FakeSocket.made).toHaveLength(1);
    await timers.advance(1);
    expect(FakeSocket.made).toHaveLength(2);
    FakeSocket.made[1]!.drop();
    await timers.advance(749);
    expect(FakeSocket.made).toHaveLength(2);
    await timers.advance(1);
    expect(FakeSocket.made).toHaveLength(3);
    FakeSocket.made[2]!.open();
    await flush();
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
  });

  it('refuses to send while not open, so callers can queue', async () => {
    const s = socket();
    s.start();
    await flush();
    expect(s.send({ action: 'heartbeat' })).toBe(false);
    FakeSocket.made[0]!.open();
    await flush();
    expect(s.send({ action: 'heartbeat' })).toBe(true);
    expect(FakeSocket.made[0]!.sent).toEqual(['{"action":"heartbeat"}']);
  });

  it('holds app traffic until onConnected has set the connection up', async () => {
    let release: () => void = () => undefined;
    const s = socket({
      onConnected: (sock) =>
        new Promise<void>((resolve) => {
          sock.sendDuringSetup({ action: 'createSession', sourceLanguage: 'en', resumeSessionId: 'calm-lake-0001' });
          release = resolve;
        }),
    });
    s.start();
    await flush();
    FakeSocket.made[0]!.open();
    await flush();
    expect(s.send({ action: 'heartbeat' })).toBe(false);
    release();
    await flush();
    expect(s.send({ action: 'heartbeat' })).toBe(true);
    expect(FakeSocket.made[0]!.sent[0]).toContain('resumeSessionId');
  });

  it('renews the connection before two hours, closing the old one only after the new one is set up', async () => {
    const renewals: boolean[] = [];
    const s = socket({ renewAfterMs: 100 * 60_000, onConnected: (_, renewed) => void renewals.push(renewed) });
    s.start();
    await flush();
    FakeSocket.made[0]!.open();
    await flush();
    await timers.advance(100 * 60_000);
    expect(FakeSocket.made).toHaveLength(2);
    expect(FakeSocket.made[0]!.closed).toBe(false);
    FakeSocket.made[1]!.open();
    await flush();
    expect(FakeSocket.made[0]!.closed).toBe(true);
    expect(renewals).toEqual([false, true]);
    expect(s.send({ action: 'heartbeat' })).toBe(true);
    expect(FakeSocket.made[1]!.sent).toEqual(['{"action":"heartbeat"}']);
  });

  it('sends a heartbeat inside the idle timeout and delivers parsed messages', async () => {
    const received: unknown[] = [];
    const s = socket({ heartbeatMs: 60_000 });
    s.onMessage((m) => received.push(m));
    s.start();
    await flush();
    FakeSocket.made[0]!.open();
    await flush();
    await timers.advance(60_000);
    expect(FakeSocket.made[0]!.sent).toEqual(['{"action":"heartbeat"}']);
    FakeSocket.made[0]!.receive({ type: 'heartbeat', serverTime: 5 });
    FakeSocket.made[0]!.onmessage?.({ data: 'garbage' });
    expect(received).toEqual([{ type: 'heartbeat', serverTime: 5 }]);
  });

  it('does not reconnect after close()', async () => {
    const s = socket();
    s.start();
    await flush();
    FakeSocket.made[0]!.open();
    await flush();
    s.close();
    await timers.advance(60_000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(s.state).toBe('closed');
  });
});

describe('a click made while the connection is down', () => {
  it('is held and sent once the connection is open, once', async () => {
    const s = socket();
    sendWhenOpen(s, { action: 'getTranscript', sessionId: 'swift-falcon-0420', language: 'es' });
    s.start();
    await flush();
    const first = FakeSocket.made[0]!;
    expect(first.sent).toEqual([]);
    first.open();
    await flush();
    expect(first.sent.map((m) => JSON.parse(m).action)).toEqual(['getTranscript']);
    first.drop();
    await timers.advance(60_000);
    FakeSocket.made.at(-1)!.open();
    await flush();
    expect(FakeSocket.made.at(-1)!.sent).toEqual([]); // not again on the next connection
  });
});
