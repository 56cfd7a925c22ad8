import { describe, expect, it } from 'vitest';
import { ChunkQueue } from '../src/chunks';
import { LevelWatch, measure } from '../src/level';

describe('ChunkQueue', () => {
  it('sends at once when it can, queues in order when it cannot, flushes in seq order', () => {
    let open = true;
    const sent: number[] = [];
    const queue = new ChunkQueue((chunk) => open && (sent.push(chunk.seq), true));
    queue.push({ seq: 0, data: 'a' });
    open = false;
    queue.push({ seq: 1, data: 'b' });
    queue.push({ seq: 2, data: 'c' });
    expect(sent).toEqual([0]);
    expect(queue.length).toBe(2);
    open = true;
    queue.flush();
    expect(sent).toEqual([0, 1, 2]);
  });

  it('drops the oldest chunks past its bound but never chunk 0', () => {
    const queue = new ChunkQueue(() => false, 3);
    for (let seq = 0; seq < 6; seq += 1) queue.push({ seq, data: '' });
    const sent: number[] = [];
    const drain = new ChunkQueue((chunk) => (sent.push(chunk.seq), true));
    expect(queue.dropped).toBe(3);
    // What is left: chunk 0 (the WebM header) and the newest two.
    (queue as unknown as { trySend: (c: { seq: number }) => boolean }).trySend = (c) => (sent.push(c.seq), true);
    queue.flush();
    expect(sent).toEqual([0, 4, 5]);
    expect(drain.length).toBe(0);
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
