import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClipPlayer, type AudioBufferLike, type AudioContextLike, type Clip, type SourceLike } from '../src/player';
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

  it('drops clips that would play too far behind live', async () => {
    const p = player({ maxLagSeconds: 6 });
    for (const index of [0, 1, 2, 3]) p.add(clip(index));
    await settle();
    expect(p.scheduled.map((s) => s.index)).toEqual([0, 1, 2]);
    expect(skips).toEqual([[3, 'behind']]);
  });

  it('jumps to live after a long pause, keeps its place after a short one', async () => {
    const p = player();
    p.add(clip(0));
    await settle();
    p.pause();
    expect(context.state).toBe('suspended');
    p.add(clip(1));
    p.add(clip(2));
    await settle();
    await timers.advance(10_000);
    p.resume();
    await settle();
    expect(p.scheduled.map((s) => s.index)).toEqual([0, 1, 2]);
    p.pause();
    for (const index of [3, 4, 5]) p.add(clip(index));
    await settle();
    await timers.advance(31_000);
    p.resume();
    await settle();
    expect(p.scheduled.map((s) => s.index)).toEqual([5]);
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
