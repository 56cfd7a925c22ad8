import { describe, expect, it } from 'vitest';
import { CaptionBook, type CaptionText } from '../src/captions';

const es = (index: number, text = `frase ${index}`): CaptionText => ({ index, language: 'es', text, sourceText: `sentence ${index}` });

describe('the captions', () => {
  it('shows a caption at once, ahead of its voice, and marks it when the voice plays', () => {
    const book = new CaptionBook();
    const shown = book.caption(es(0));
    expect(shown.added).toBe(true);
    expect(book.latest?.text).toBe('frase 0');
    expect(book.lines.map((l) => l.voiced)).toEqual([false]);
    expect(book.currentIndex).toBeNull(); // nothing heard yet

    book.caption(es(1)); // the next caption arrives while the first is still being made into speech
    const heard = book.voice(es(0));
    expect(heard.added).toBe(false); // the same line, not a second one
    expect(book.lines.map((l) => [l.index, l.voiced])).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(book.currentIndex).toBe(0);
    expect(book.latest?.text).toBe('frase 1'); // the big caption stays on the newest words
  });

  it('keeps captions in index order whatever order they arrive in, each once', () => {
    const book = new CaptionBook();
    for (const index of [2, 0, 3, 1, 2, 0]) book.caption(es(index));
    expect(book.lines.map((l) => l.index)).toEqual([0, 1, 2, 3]);
    expect(book.caption(es(3, 'otra vez')).added).toBe(false);
    expect(book.lines[3]?.text).toBe('frase 3'); // a repeat does not change a line already shown
  });

  it('adds the line from the voice when its caption never came', () => {
    const book = new CaptionBook();
    book.caption(es(1));
    const placed = book.voice(es(0));
    expect(placed).toMatchObject({ added: true, position: 0 });
    expect(book.lines.map((l) => [l.index, l.voiced])).toEqual([
      [0, true],
      [1, false],
    ]);
  });

  it('after a language switch, drops captions that will never be heard and keeps both languages apart', () => {
    const book = new CaptionBook();
    book.voice(es(0));
    book.caption(es(1));
    book.caption(es(2));
    expect(book.dropUnvoiced()).toEqual([1, 2]);
    book.caption({ index: 1, language: 'fr', text: 'phrase 1' });
    expect(book.lines.map((l) => `${l.language}${l.index}`)).toEqual(['es0', 'fr1']);
    book.voice({ index: 0, language: 'fr', text: 'phrase 0' }); // same index, other language: its own line
    expect(book.lines.map((l) => `${l.language}${l.index}`)).toEqual(['es0', 'fr0', 'fr1']);
  });

  it('stays within its limit, oldest lines first', () => {
    const book = new CaptionBook(3);
    for (let index = 0; index < 5; index += 1) book.caption(es(index));
    expect(book.trim()).toBe(2);
    expect(book.lines.map((l) => l.index)).toEqual([2, 3, 4]);
  });
});
