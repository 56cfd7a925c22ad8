import { describe, expect, it } from 'vitest';
import { Announcer } from '../src/announce';
import { Listening } from '../src/listening';
import { ClipPlayer, type AudioContextLike, type Clip } from '../src/player';
import { Preferences, type StorageLike } from '../src/preferences';
import { ScreenAwake, type SentinelLike } from '../src/wake-lock';
import { FakeTimers, settle } from '../../shared/test/fake-timers';

// A context that plays nothing: enough for the player to fetch and schedule.
const context: AudioContextLike = {
  currentTime: 0,
  state: 'running',
  createBufferSource: () => ({ buffer: null, onended: null, connect: () => undefined, start: () => undefined, stop: () => undefined }),
  decodeAudioData: async () => ({ duration: 3 }),
  resume: async () => undefined,
  suspend: async () => undefined,
};
const clip = (index: number): Clip => ({ index, url: `https://clips/${index}.mp3`, text: `t${index}`, sourceText: `s${index}` });

function listening(captionsOnly: boolean) {
  const fetched: string[] = [];
  const makePlayer = () =>
    new ClipPlayer({
      context,
      destination: {},
      timers: new FakeTimers(),
      fetchClip: async (url) => {
        fetched.push(url);
        return new ArrayBuffer(8);
      },
    });
  return { fetched, listening: new Listening(makePlayer, captionsOnly) };
}

describe('captions only', () => {
  it('fetches no clip at all', async () => {
    const { fetched, listening: l } = listening(true);
    l.start();
    for (const index of [0, 1, 2, 3]) l.clip(clip(index));
    await settle();
    expect(fetched).toEqual([]);
    expect(l.player).toBeNull();
    expect(l.playing).toBe(false);
  });

  it('with the voice on, the same clips are fetched', async () => {
    const { fetched, listening: l } = listening(false);
    l.start();
    for (const index of [0, 1]) l.clip(clip(index));
    await settle();
    expect(fetched).toEqual(['https://clips/0.mp3', 'https://clips/1.mp3']);
    expect(l.playing).toBe(true);
  });

  it('turned on mid-talk stops the voice and fetches nothing more', async () => {
    const { fetched, listening: l } = listening(false);
    l.start();
    l.clip(clip(0));
    await settle();
    l.setCaptionsOnly(true);
    l.clip(clip(1));
    await settle();
    expect(fetched).toEqual(['https://clips/0.mp3']);
    expect(l.playing).toBe(false);
  });
});

describe('the listener preferences, remembered on the device', () => {
  const memory = (): StorageLike & { data: Map<string, string> } => {
    const data = new Map<string, string>();
    return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
  };

  it('keeps captions only, the text size and high contrast for the next visit', () => {
    const storage = memory();
    const first = new Preferences(storage);
    expect([first.captionsOnly, first.textSize, first.highContrast(false)]).toEqual([false, 'medium', false]);
    first.captionsOnly = true;
    first.textSize = 'large';
    first.contrast = true;
    const next = new Preferences(storage);
    expect([next.captionsOnly, next.textSize, next.highContrast(false)]).toEqual([true, 'large', true]);
  });

  it("follows the system's prefers-contrast until the listener chooses", () => {
    const storage = memory();
    expect(new Preferences(storage).highContrast(true)).toBe(true);
    new Preferences(storage).contrast = false;
    expect(new Preferences(storage).highContrast(true)).toBe(false);
  });

  it('works on without storage (a private window that refuses it)', () => {
    const refusing: StorageLike = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    const prefs = new Preferences(refusing);
    prefs.textSize = 'small';
    expect(prefs.textSize).toBe('medium');
  });
});

describe('final captions for screen readers', () => {
  it('says each line once, whatever number of times its text is set', () => {
    const said: string[] = [];
    const announcer = new Announcer((text) => said.push(text));
    const line = { index: 4, language: 'es', text: 'Hola a todos.' };
    expect(announcer.announce(line)).toBe(true);
    expect(announcer.announce(line)).toBe(false); // its voice started: the caption is set again
    announcer.announce({ index: 4, language: 'fr', text: 'Bonjour à tous.' }); // after a switch: a new line
    announcer.announce({ index: 5, language: 'es', text: '  ' });
    expect(said).toEqual(['Hola a todos.', 'Bonjour à tous.']);
  });
});

describe('the screen stays on while listening', () => {
  function lock() {
    const requests: SentinelLike[] = [];
    let visible = true;
    const wakeLock = {
      request: async () => {
        const sentinel = { released: false, release: async () => void (sentinel.released = true) };
        requests.push(sentinel);
        return sentinel;
      },
    };
    return { requests, wakeLock, setVisible: (v: boolean) => (visible = v), isVisible: () => visible };
  }

  it('holds the lock while listening, lets it go on pause, asks again when visible', async () => {
    const { requests, wakeLock, setVisible, isVisible } = lock();
    const awake = new ScreenAwake(wakeLock, isVisible);
    await awake.want(true);
    expect(awake.held).toBe(true);
    await awake.want(false); // paused
    expect(requests[0]!.released).toBe(true);
    await awake.want(true);
    setVisible(false);
    (requests[1] as { released: boolean }).released = true; // the browser drops it when hidden
    await awake.visibilityChanged();
    expect(requests).toHaveLength(2);
    setVisible(true);
    await awake.visibilityChanged();
    expect(requests).toHaveLength(3);
    expect(awake.held).toBe(true);
  });

  it('does nothing where the browser has no wake lock, and survives a refusal', async () => {
    await expect(new ScreenAwake(undefined, () => true).want(true)).resolves.toBeUndefined();
    const refusing = { request: async (): Promise<SentinelLike> => Promise.reject(new Error('NotAllowedError')) };
    const awake = new ScreenAwake(refusing, () => true);
    await awake.want(true);
    expect(awake.held).toBe(false);
  });
});

describe('the voice turned back on', () => {
  it('starts only after the join tap, then plays what comes next', async () => {
    const { fetched, listening: l } = listening(true);
    l.setCaptionsOnly(false); // on the join screen: nothing to play yet
    expect(l.player).toBeNull();
    l.start();
    l.clip(clip(7));
    await settle();
    expect(fetched).toEqual(['https://clips/7.mp3']);
  });
});
