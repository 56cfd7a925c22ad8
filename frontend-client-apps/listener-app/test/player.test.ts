import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClipPlayer, type AudioBufferLike, type AudioContextLike, type Clip, type Jump, type SourceLike } from '../src/player';
import { FakeTimers, settle } from '../../shared/test/fake-timers';

class FakeSource implements SourceLike {
  buffer: AudioBufferLike | null = null;
  onended: (() => void) | null = null;
  startedAt: number | null = null;
  stopped = false;
  connect(): unknown {
    return undefined;
  }
  start(when: number): void {
    this.startedAt = when;
  }
  stop(): void {
    this.stopped = true;
  }
}

class FakeContext implements AudioContextLike {
  currentTime = 10;
  state = 'running';
  sources: FakeSource[] = [];
  createBufferSource(): SourceLike {
    const source = new FakeSource();
    this.sources.push(source);
    return source;
  }
  async decodeAudioData(data: ArrayBuffer): Promise<AudioBufferLike> {
    // The fake "MP3" is 8 bytes: a float64 duration in seconds.
    return { duration: new DataView(data).getFloat64(0) };
  }
  async resume(): Promise<void> {
    this.state = 'running';
  }
  async suspend(): Promise<void> {
    this.state = 'suspended';
  }
}



function audio(seconds: number): ArrayBuffer {
  const buffer = new ArrayBuffer(8);
  new DataView(buffer).setFloat64(0, seconds);
  return buffer;
}

const clip = (index: number): Clip => ({ index, url: `https://clips/${index}.mp3`, text: `text ${index}`, sourceText: `src ${index}` });

let context: FakeContext;
let timers: FakeTimers;
let fetches: string[];
let failures: Map<string, number>;
let hold: Set<string>;
let started: string[];
let skips: [number, string][];

function player(extra: Partial<ConstructorParameters<typeof ClipPlayer>[0]> = {}) {
  return new ClipPlayer({
    context,
    destination: {},
    timers,
    fetchClip: async (url) => {
      fetches.push(url);
      while (hold.has(url)) await new Promise((resolve) => setTimeout(resolve, 1));
      const left = failures.get(url) ?? 0;
      if (left > 0) {
        failures.set(url, left - 1);
        throw new Error('network');
      }
      return audio(2.5 + Number(/(\d+)\.mp3/.exec(url)?.[1]) / 10);
    },
    onClipStart: (c) => started.push(c.text),
    onSkip: (index, why) => skips.push([index, why]),
    ...extra,
  });
}

beforeEach(() => {
  context = new FakeContext();
  timers = new FakeTimers();
  fetches = [];
  failures = new Map();
  hold = new Set();
  started = [];
  skips = [];
});

afterEach(async () => {
  hold.clear(); // let downloads held by a test finish before the next test starts
  await settle();
});

describe('ClipPlayer', () => {
  it('plays clips in index order whatever order they arrive in', async () => {
    const p = player();
    p.add(clip(0));
    hold.add(clip(1).url);
    p.add(clip(2));
    p.add(clip(1));
    await settle();
    hold.clear();
    await settle();
    expect(p.scheduled.map((s) => s.index)).toEqual([0, 1, 2]);
  });

  it('schedules clips back to back with no gap', async () => {
    const p = player();
    for (const index of [0, 1, 2, 3]) p.add(clip(index));
    await settle();
    await timers.advance(3000);
    await settle();
    const scheduled = p.scheduled;
    expect(scheduled.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < scheduled.length; i += 1) expect(scheduled[i]!.start).toBe(scheduled[i - 1]!.end);
    expect(scheduled[0]!.start).toBeCloseTo(10.08, 6); // current time + the small lead
  });

  it('fetches at most 3 clips ahead', async () => {
    const p = player();
    for (const index of [0, 1, 2, 3, 4, 5, 6]) hold.add(clip(index).url);
    for (const index of [0, 1, 2, 3, 4, 5, 6]) p.add(clip(index));
    await settle();
    expect(fetches).toEqual([clip(0).url, clip(1).url, clip(2).url]);
  });

  it('retries a failed download 3 times, then plays it', async () => {
    failures.set(clip(0).url, 3);
    const p = player();
    p.add(clip(0));
    await settle();
    await timers.advance(5000);
    expect(fetches.filter((u) => u === clip(0).url)).toHaveLength(4);
    expect(p.scheduled.map((s) => s.index)).toEqual([0]);
  });

  it('skips a clip whose download keeps failing and plays the next', async () => {
    failures.set(clip(0).url, 99);
    const p = player();
    p.add(clip(0));
    p.add(clip(1));
    await settle();
    await timers.advance(5000);
    expect(skips).toEqual([[0, 'failed']]);
    expect(p.scheduled.map((s) => s.index)).toEqual([1]);
  });

  it('skips an index that never comes, after a bounded wait', async () => {
    const p = player({ skipAfterMs: 1200 });
    p.add(clip(4));
    await settle();
    p.add(clip(6));
    await settle();
    await timers.advance(1199);
    expect(p.scheduled.map((s) => s.index)).toEqual([4]);
    await timers.advance(1);
    expect(skips).toEqual([[5, 'missing']]);
    expect(p.scheduled.map((s) => s.index)).toEqual([4, 6]);
    p.add(clip(5)); // too late now: never played out of order
    await settle();
    expect(p.scheduled.map((s) => s.index)).toEqual([4, 6]);
  });

  it('does not wait for an index the server says is unavailable', async () => {
    const p = player();
    p.add(clip(0));
    p.unavailable(1);
    p.add(clip(2));
    await settle();
    expect(p.scheduled.map((s) => s.index)).toEqual([0, 2]);
    expect(skips).toEqual([[1, 'failed']]);
  });

  it('shows each caption when its clip starts', async () => {
    const p = player();
    p.add(clip(0));
    p.add(clip(1));
    await settle();
    expect(started).toEqual([]);
    await timers.advance(100);
    expect(started).toEqual(['text 0']);
    await timers.advance(2500);
    expect(started).toEqual(['text 0', 'text 1']);
  });

  it('keeps its place after a short pause', async () => {
    const p = player();
    p.add(clip(0));
    await settle();
    p.pause();
    expect(context.state).toBe('suspended');
    p.add(clip(1));
    await settle();
    await timers.advance(1000);
    p.resume();
    await settle();
    expect(p.scheduled.map((s) => s.index)).toEqual([0, 1]);
  });

  it('forgets the old language on reset', async () => {
    const p = player();
    p.add(clip(7));
    await settle();
    const first = context.sources[0]!;
    p.reset();
    expect(first.stopped).toBe(true);
    p.add(clip(2));
    await settle();
    expect(p.scheduled.map((s) => s.index)).toEqual([2]);
  });
});

// An AudioContext whose clock runs with the fake timers (and stops while suspended), and
// whose sources end when their audio has played: the player's own view of time.
class ClockContext implements AudioContextLike {
  state = 'running';
  sources: (FakeSource & { playbackRate: { value: number } })[] = [];
  private frozenAt = 0;
  private runningSince = 0;
  constructor(private readonly clock: FakeTimers) {}
  get currentTime(): number {
    return this.state === 'running' ? this.frozenAt + (this.clock.time - this.runningSince) / 1000 : this.frozenAt;
  }
  createBufferSource(): SourceLike {
    const source = Object.assign(new FakeSource(), { playbackRate: { value: 1 } });
    this.sources.push(source);
    return source;
  }
  async decodeAudioData(data: ArrayBuffer): Promise<AudioBufferLike> {
    return { duration: new DataView(data).getFloat64(0) };
  }
  async resume(): Promise<void> {
    if (this.state === 'running') return;
    this.runningSince = this.clock.time;
    this.state = 'running';
  }
  async suspend(): Promise<void> {
    this.frozenAt = this.currentTime;
    this.state = 'suspended';
  }
}

interface Utterance {
  clip: Clip;
  arrivesAtMs: number;
  seconds: number; // the clip's length
}

/** A talk of `count` utterances of `speechMs` each with `pauseMs` between them; each clip
 * `stretch` times longer than its source and announced `delayMs` after its speech ends. */
function talk(count: number, speechMs: number, pauseMs: number, stretch: number, delayMs = 2000): Utterance[] {
  return Array.from({ length: count }, (_, index) => {
    const startMs = index * (speechMs + pauseMs);
    const seconds = (speechMs * stretch) / 1000;
    return {
      clip: { index, url: `https://clips/${index}.mp3?s=${seconds}`, text: `t${index}`, sourceText: `s${index}`,
              startMs, durationMs: speechMs, clipMs: seconds * 1000 },
      arrivesAtMs: startMs + speechMs + delayMs,
      seconds,
    };
  });
}

describe('ClipPlayer keeping time', () => {
  let clock: FakeTimers;
  let live: ClockContext;
  let heard: { index: number; atMs: number; rate: number }[];
  let jumps: Jump[];

  function timedPlayer(extra: Partial<ConstructorParameters<typeof ClipPlayer>[0]> = {}) {
    return new ClipPlayer({
      context: live,
      destination: {},
      timers: clock,
      fetchClip: async (url) => audio(Number(new URL(url).searchParams.get('s'))),
      onClipStart: (c, rate) => heard.push({ index: c.index, atMs: clock.time, rate }),
      onSkip: (index, why) => skips.push([index, why]),
      onJump: (jump) => jumps.push(jump),
      ...extra,
    });
  }

  async function play(p: ClipPlayer, utterances: Utterance[], untilMs: number, hooks: Record<number, () => void> = {}) {
    const events = [
      ...utterances.map((u) => ({ at: u.arrivesAtMs, run: () => p.add(u.clip) })),
      ...Object.entries(hooks).map(([at, run]) => ({ at: Number(at), run })),
    ].sort((a, b) => a.at - b.at);
    for (const event of events) {
      await clock.advance(event.at - clock.time);
      event.run();
      await settle();
    }
    await clock.advance(untilMs - clock.time);
  }

  /** How far each clip starts behind its source speech, relative to the first clip. */
  function drift(utterances: Utterance[]): number[] {
    const first = heard[0]!;
    return heard.map((h) => h.atMs - first.atMs - (utterances[h.index]!.clip.startMs! - utterances[first.index]!.clip.startMs!));
  }

  beforeEach(() => {
    clock = new FakeTimers();
    live = new ClockContext(clock);
    heard = [];
    jumps = [];
  });

  it('catches up without dropping a clip when clips are 10 % longer than their speech', async () => {
    // 4 minutes: 3 s sentences with 400 ms pauses, every clip 10 % longer than its speech.
    const utterances = talk(70, 3000, 400, 1.1);
    const p = timedPlayer();

    await play(p, utterances, 260_000);

    expect(heard.map((h) => h.index)).toEqual(utterances.map((u) => u.clip.index));
    expect(skips).toEqual([]);
    expect(jumps).toEqual([]);
    expect(Math.max(...drift(utterances))).toBeLessThan(1500); // the pauses absorb the 10 %
  });

  it('speeds up a little when speech without pauses queues up, and still drops nothing', async () => {
    const utterances = talk(40, 3000, 0, 1.1);
    const p = timedPlayer();

    await play(p, utterances, 200_000);

    expect(heard).toHaveLength(40);
    expect(jumps).toEqual([]);
    const rates = heard.map((h) => h.rate);
    expect(Math.max(...rates)).toBe(1.05);
    expect(Math.min(...rates)).toBe(1);
    // At 1.05x a 1.1x backlog grows at 5 % instead of 10 %: under 8 s after 2 minutes.
    expect(Math.max(...drift(utterances))).toBeLessThan(8000);
  });

  it('jumps to live once after a long pause, then plays every later clip', async () => {
    const utterances = talk(20, 3000, 400, 1.0);
    const p = timedPlayer();

    await play(p, utterances, 100_000, {
      12_000: () => p.pause(),
      22_000: () => p.resume(), // 10 s later
    });

    expect(jumps).toHaveLength(1);
    expect(jumps[0]!.why).toBe('paused');
    const skipped = jumps[0]!.skipped;
    const played = heard.map((h) => h.index);
    expect(played.filter((i) => skipped.includes(i))).toEqual([]);
    // Contiguous before and after the jump: one gap, nothing dropped at scattered points.
    const gaps = played.slice(1).filter((index, n) => index !== played[n]! + 1);
    expect(gaps).toHaveLength(1);
    expect(played.at(-1)).toBe(19);
    expect(skips).toEqual([]);
  });

  it('jumps to live once when far behind, with the skipped speech reported', async () => {
    const utterances = talk(12, 3000, 0, 1.0, 0);
    const p = timedPlayer({ jumpAfterSeconds: 10 });
    // A stalled network: nothing arrives for 40 s, then everything at once.
    for (const u of utterances) u.arrivesAtMs = 40_000;

    await play(p, utterances, 80_000);

    expect(jumps).toHaveLength(1);
    expect(jumps[0]!.why).toBe('behind');
    expect(jumps[0]!.seconds).toBeGreaterThan(10);
    expect(heard.at(-1)!.index).toBe(11);
  });

  it('never captions a clip that was not played: pause before it starts, or switch', async () => {
    const utterances = talk(3, 3000, 400, 1.0);
    const p = timedPlayer();
    p.add(utterances[0]!.clip);
    p.add(utterances[1]!.clip);
    await settle();
    await clock.advance(100);
    expect(heard.map((h) => h.index)).toEqual([0]);

    p.pause(); // clip 1 is scheduled but not started: its caption must wait
    await clock.advance(3000); // a short pause: it resumes where it stopped
    expect(heard.map((h) => h.index)).toEqual([0]);
    p.resume();
    await settle();
    await clock.advance(2000);
    expect(heard.map((h) => h.index)).toEqual([0]);
    await clock.advance(1000); // clip 0's remaining audio has played: now clip 1 starts
    expect(heard.map((h) => h.index)).toEqual([0, 1]);

    p.add(utterances[2]!.clip);
    await settle();
    p.reset(); // a language switch before clip 2 starts
    await clock.advance(10_000);
    expect(heard.map((h) => h.index)).toEqual([0, 1]);
  });

  it('a switch stops the old queue at once and plays the new language first thing', async () => {
    const p = timedPlayer();
    const old = talk(3, 3000, 0, 1.0);
    for (const u of old) p.add(u.clip);
    await settle();
    await clock.advance(500);
    const oldSources = [...live.sources];

    p.reset();
    expect(oldSources.every((s) => s.stopped)).toBe(true);
    p.add({ index: 7, url: 'https://clips/7.mp3?s=2', text: 'nuevo', sourceText: 'new', clipMs: 2000 });
    await settle();
    await clock.advance(100);

    expect(heard.map((h) => h.index)).toEqual([0, 7]);
    expect(p.scheduled.map((s) => s.index)).toEqual([7]);
    expect(p.scheduled[0]!.start - live.currentTime).toBeLessThan(0.1); // no wait for the new language
  });
});
