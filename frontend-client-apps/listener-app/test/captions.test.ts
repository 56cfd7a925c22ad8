import { describe, expect, it } from 'vitest';
import { CaptionBook, Follower, type CaptionText } from '../src/captions';

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

describe('a language switch in the history', () => {
  it('marks the first line in the new language, and only that one', () => {
    const book = new CaptionBook();
    book.voice(es(0));
    book.voice(es(1));
    book.dropUnvoiced();
    const first = book.voice({ index: 2, language: 'fr', text: 'phrase 2' });
    const next = book.voice({ index: 3, language: 'fr', text: 'phrase 3' });
    expect(book.lines.map((l) => l.switched)).toEqual([false, false, true, false]);
    expect(first.line.switched).toBe(true);
    expect(next.line.switched).toBe(false);
  });
});

describe('the history keeps moving', () => {
  // A scrolling box as the browser has it: the content's height, the box's height, where it is.
  const box = (scrollHeight: number, clientHeight: number) => ({ scrollTop: Math.max(0, scrollHeight - clientHeight), scrollHeight, clientHeight });

  it('stays at the end when the layout changes under it (the original shown mid-talk)', () => {
    const list = box(1000, 400);
    const follower = new Follower(list);
    follower.scrolled();
    list.scrollHeight = 1600; // every line grew by its original text: the end is now below
    list.clientHeight = 300; // and the caption above took more room
    follower.settle();
    expect(list.scrollTop).toBe(1600);
    follower.scrolled(); // the scroll event of that move
    list.scrollHeight = 1700; // the next line
    follower.settle();
    expect(list.scrollTop).toBe(1700);
  });

  it('leaves a reader who scrolled up to re-read where they are', () => {
    const list = box(1000, 400);
    const follower = new Follower(list);
    list.scrollTop = 100;
    follower.scrolled();
    list.scrollHeight = 1200;
    follower.settle();
    expect(list.scrollTop).toBe(100);
  });
});
