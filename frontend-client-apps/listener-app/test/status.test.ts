import { describe, expect, it } from 'vitest';
import { atBottom } from '@llt/shared';
import { translator } from '../src/i18n';
import { listenerStatus, repeatsBanner, type StatusInputs } from '../src/status';

const english = translator('en');
const text = (inputs: StatusInputs) => {
  const { key, values } = listenerStatus(inputs);
  return english(key, values);
};

const base: StatusInputs = {
  joined: true,
  ended: false,
  finishing: false,
  connection: 'open',
  session: 'active',
  switchingTo: null,
  listenerPaused: false,
  heardAny: true,
  behindSeconds: 2,
};
const kind = (change: Partial<StatusInputs>) => listenerStatus({ ...base, ...change }).kind;

describe('the listener status line', () => {
  it('says it is waiting for the speaker until the first clip plays', () => {
    expect(kind({ heardAny: false })).toBe('waiting');
    expect(text({ ...base, heardAny: false })).toMatch(/^Waiting for the speaker/);
    expect(kind({})).toBe('live');
  });

  it('offers a jump to live only when the listener is behind', () => {
    const behind = listenerStatus({ ...base, behindSeconds: 12.4 });
    expect(behind.kind).toBe('behind');
    expect(english(behind.key, behind.values)).toBe('You are 12 seconds behind the speaker.');
    expect(behind.canJump).toBe(true);
    expect(listenerStatus(base).canJump).toBe(false);
  });

  it('puts what the listener must know first: ended, connection, own pause, the speaker', () => {
    expect(kind({ ended: true, connection: 'reconnecting' })).toBe('ended');
    expect(kind({ ended: true, finishing: true })).toBe('finishing'); // the last clips still play
    expect(kind({ connection: 'reconnecting', behindSeconds: 20 })).toBe('reconnecting');
    expect(kind({ listenerPaused: true, session: 'paused' })).toBe('listenerPaused');
    expect(kind({ session: 'suspended' })).toBe('suspended');
    expect(kind({ session: 'paused' })).toBe('speakerPaused');
    expect(kind({ switchingTo: 'Français' })).toBe('switching');
    expect(text({ ...base, switchingTo: 'Français' })).toBe('Switching to Français…');
  });

  it('is not shown where the banner says the same', () => {
    expect(repeatsBanner(kind({ ended: true }))).toBe(true);
    expect(repeatsBanner(kind({ session: 'suspended' }))).toBe(true);
    expect(repeatsBanner(kind({ ended: true, finishing: true }))).toBe(false);
    expect(repeatsBanner(kind({}))).toBe(false);
  });

  it('uses no jargon', () => {
    const inputs: Partial<StatusInputs>[] = [
      { heardAny: false }, {}, { behindSeconds: 30 }, { ended: true }, { connection: 'reconnecting' },
      { listenerPaused: true }, { ended: true, finishing: true }, { session: 'paused' }, { session: 'suspended' }, { joined: false },
    ];
    for (const change of inputs) expect(text({ ...base, ...change })).not.toMatch(/clip|queue|backlog|socket|index/i);
  });
});

describe('caption history scrolling', () => {
  it('follows new lines only while the reader is at the bottom', () => {
    expect(atBottom({ scrollTop: 580, scrollHeight: 1000, clientHeight: 400 })).toBe(true);
    expect(atBottom({ scrollTop: 300, scrollHeight: 1000, clientHeight: 400 })).toBe(false);
    expect(atBottom({ scrollTop: 0, scrollHeight: 300, clientHeight: 400 })).toBe(true);
  });
});
