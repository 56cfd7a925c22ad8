import { describe, expect, it } from 'vitest';
import { FakeTimers } from '../../shared/test/fake-timers';
import { ChunkQueue, type ChunkQueueOptions } from '../src/chunks';
import { LevelWatch, measure } from '../src/level';

/** A queue whose socket is up or down at will, on a clock the test moves. */
function rig(options: ChunkQueueOptions = {}) {
  const timers = new FakeTimers();
  const link = { open: true };
  const sent: number[] = [];
  const times: number[] = [];
  const queue = new ChunkQueue(
    (chunk) => {
      if (!link.open) return false;
      sent.push(chunk.seq);
      times.push(timers.now());
      return true;
    },
    { timers, ...options },
  );
  const push = (...seqs: number[]) => seqs.forEach((seq) => queue.push({ seq, data: `d${seq}` }));
  return { queue, timers, link, sent, times, push };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('ChunkQueue', () => {
  it('sends at once when it can, queues in order when it cannot, flushes in seq order', () => {
    const { queue, link, sent, push } = rig();
    push(0);
    link.open = false;
    push(1, 2);
    expect(sent).toEqual([0]);
    expect(queue.length).toBe(2);
    link.open = true;
    queue.flush();
    expect(sent).toEqual([0, 1, 2]);
  });

  it('drops the oldest chunks past its bound but never chunk 0', () => {
    const { queue, link, sent, push } = rig({ limit: 3 });
    link.open = false;
    push(...range(0, 6));
    expect(queue.dropped).toBe(3);
    // What is left: chunk 0 (the WebM header) and the newest two.
    expect(queue.pending).toEqual([0, 4, 5]);
    link.open = true;
    queue.flush();
    expect(sent).toEqual([0, 4, 5]);
  });

  it('requeues a sent chunk in seq order, once, and only while it is kept', () => {
    const { queue, link, sent, push } = rig();
    push(...range(0, 6));
    link.open = false;
    push(6, 7);
    expect(queue.requeue(3)).toBe(true); // RATE_LIMITED for seq 3
    expect(queue.requeue(3)).toBe(true); // a second error for it: still once
    expect(queue.requeue(7)).toBe(true); // never sent, already waiting: nothing changes
    expect(queue.requeue(99)).toBe(false); // never seen
    expect(queue.pending).toEqual([3, 6, 7]);
    link.open = true;
    queue.flush();
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 3, 6, 7]);
  });

  it('resends every kept chunk above the server lastSeq after a resume, without duplicates', async () => {
    const { queue, timers, link, sent, push } = rig();
    push(...range(0, 10)); // 7, 8 and 9 went into a dying socket
    link.open = false;
    push(10, 11); // recorded while reconnecting
    queue.requeue(8);
    expect(queue.resendAfter(6)).toBe(2); // 7 and 9; 8 is already waiting
    expect(queue.resendAfter(6)).toBe(0);
    expect(queue.pending).toEqual([7, 8, 9, 10, 11]);
    link.open = true;
    queue.flush();
    await timers.advance(1000); // 12 in the first second: the rest waits for the next
    expect(sent.slice(10)).toEqual([7, 8, 9, 10, 11]);
  });

  it('keeps the last sent chunks for resending, and chunk 0 always', () => {
    const { queue, link, push } = rig({ keep: 5 });
    push(...range(0, 10));
    link.open = false;
    expect(queue.requeue(4)).toBe(false); // fell out of the ring
    expect(queue.resendAfter(-1)).toBe(6); // the server has nothing: 0 and 5..9
    expect(queue.pending).toEqual([0, 5, 6, 7, 8, 9]);
  });

  it('keeps chunk 0 when a resend overflows the unsent bound', () => {
    const { queue, link, push } = rig({ limit: 4 });
    push(...range(0, 8));
    link.open = false;
    queue.resendAfter(-1);
    expect(queue.pending).toEqual([0, 5, 6, 7]);
    expect(queue.dropped).toBe(4);
  });

  it('sends live chunks at once when there is no backlog', async () => {
    const { timers, sent, times, push } = rig();
    for (let seq = 0; seq < 40; seq += 1) {
      push(seq);
      expect(sent).toHaveLength(seq + 1); // no wait at all
      await timers.advance(250);
    }
    expect(times).toEqual(range(0, 40).map((n) => n * 250));
  });

  it('drains a 60 s backlog at most 12 a second, in order, while live audio keeps coming', async () => {
    const { queue, timers, link, sent, times, push } = rig();
    link.open = false;
    push(...range(0, 240)); // 60 s recorded while disconnected
    expect(queue.length).toBe(240);
    link.open = true;
    queue.flush(); // the socket is back
    let seq = 240;
    for (let step = 0; step < 4 * 40; step += 1) {
      await timers.advance(250);
      push(seq++); // MediaRecorder's 4 a second go on
    }
    // Every chunk went, each once, in seq order.
    expect(sent).toEqual(range(0, seq));
    // Never more than 12 in a simulated second, nor in any 1000 ms window.
    const perSecond = new Map<number, number>();
    for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(12);
    for (let i = 12; i < times.length; i += 1) expect(times[i]! - times[i - 12]!).toBeGreaterThanOrEqual(1000);
    // The backlog was gone after about 30 s (12 a second out, 4 a second in); from then on
    // each live chunk went the moment it was recorded.
    const pushedAt = (n: number) => (n - 239) * 250;
    const live = range(240, seq).filter((n) => times[sent.indexOf(n)] === pushedAt(n));
    const caughtUpAt = pushedAt(live[0]!);
    expect(caughtUpAt).toBeGreaterThan(25_000);
    expect(caughtUpAt).toBeLessThanOrEqual(31_000);
    expect(live).toEqual(range(live[0]!, seq));
    expect(queue.length).toBe(0);
  });

  it('tells when the backlog is gone, and sends nothing more once cleared', async () => {
    const { queue, timers, link, sent, push } = rig();
    link.open = false;
    push(...range(0, 30));
    link.open = true;
    let drained = false;
    void queue.whenEmpty().then(() => (drained = true));
    queue.flush();
    await timers.advance(1000);
    expect(drained).toBe(false);
    await timers.advance(2000);
    expect(drained).toBe(true);
    expect(sent).toEqual(range(0, 30));

    link.open = false;
    push(30, 31);
    queue.clear();
    link.open = true;
    queue.flush();
    expect(queue.resendAfter(-1)).toBe(0);
    expect(sent).toHaveLength(30);
    await expect(queue.whenEmpty()).resolves.toBeUndefined();
  });
});

describe('level warnings', () => {
  it('measures RMS in dBFS and the peak', () => {
    const reading = measure(new Float32Array([0.5, -0.5, 0.5, -0.5]));
    expect(reading.rmsDb).toBeCloseTo(-6.02, 2);
    expect(reading.peak).toBe(0.5);
    expect(measure(new Float32Array(8)).rmsDb).toBe(-Infinity);
  });

  it('warns of silence only after it lasts, and of clipping at once', () => {
    const watch = new LevelWatch(-55, 5000);
    const quiet = { rmsDb: -70, peak: 0.001 };
    expect(watch.update(quiet, 0).silent).toBe(false);
    expect(watch.update(quiet, 4999).silent).toBe(false);
    expect(watch.update(quiet, 5000).silent).toBe(true);
    expect(watch.update({ rmsDb: -20, peak: 0.3 }, 5100).silent).toBe(false);
    expect(watch.update({ rmsDb: -3, peak: 1 }, 6000).clipping).toBe(true);
    expect(watch.update({ rmsDb: -20, peak: 0.3 }, 9000).clipping).toBe(false);
  });
});
