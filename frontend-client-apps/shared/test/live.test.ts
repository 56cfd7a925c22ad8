import { describe, expect, it } from 'vitest';
import { LiveWords, Provisional } from '../src/live';

describe('Provisional (the listener preview of the running utterance)', () => {
  it('shows clauses in seq order whatever order they arrive in, and a repeat changes nothing', () => {
    const p = new Provisional();
    expect(p.clause(4, 1, 'y cómo lo hicimos fiable,')).toBe(true);
    expect(p.clause(4, 0, 'Hoy os cuento cómo lo hicimos rápido,')).toBe(true);
    expect(p.clause(4, 1, 'otra cosa')).toBe(false);
    expect(p.text()).toBe('Hoy os cuento cómo lo hicimos rápido, y cómo lo hicimos fiable,');
    expect(p.runningIndex).toBe(4);
  });

  it('is replaced by the final caption of its index, and a late clause of that index is ignored', () => {
    const p = new Provisional();
    p.clause(4, 0, 'Hoy,');
    expect(p.final(4)).toBe(true);
    expect(p.text()).toBe('');
    expect(p.clause(4, 1, 'tarde,')).toBe(false);
    expect(p.clause(3, 0, 'antes,')).toBe(false);
    expect(p.runningIndex).toBeNull();
  });

  it('a later index replaces an earlier preview, whose final may still come, and never the other way', () => {
    const p = new Provisional();
    p.clause(4, 0, 'cuatro,');
    p.clause(5, 0, 'cinco,');
    expect(p.text()).toBe('cinco,');
    expect(p.clause(4, 1, 'cuatro bis,')).toBe(false);
    expect(p.final(4)).toBe(false); // the preview of 5 stays
    expect(p.text()).toBe('cinco,');
    expect(p.final(6)).toBe(true); // a later final (5 lost in a crash): the preview goes
    expect(p.text()).toBe('');
  });

  it('joins clauses without spaces for languages written without them', () => {
    const p = new Provisional();
    p.clause(0, 0, '今日は、');
    p.clause(0, 1, '速さの話です。');
    expect(p.text('')).toBe('今日は、速さの話です。');
  });
});

describe('LiveWords (the speaker live words)', () => {
  it('keeps the newest partial of the running index and drops it at its transcript', () => {
    const w = new LiveWords();
    expect(w.partial(2, 'Today I want', 'to tell')).toBe(true);
    expect(w.partial(2, 'Today I want to tell you', 'how')).toBe(true);
    expect(w.partial(2, 'Today I want', 'to')).toBe(false); // an older one, overtaken
    expect(w.stable).toBe('Today I want to tell you');
    expect(w.transcribed(2)).toBe(true);
    expect(w.stable + w.unstable).toBe('');
    expect(w.partial(2, 'late', '')).toBe(false);
    expect(w.partial(3, 'Next', 'one')).toBe(true);
    expect(w.transcribed(2)).toBe(false);
  });
});
