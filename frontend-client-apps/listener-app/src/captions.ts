// The captions: every line of the talk in the listener's language, newest at the bottom.
// A line appears as soon as its caption arrives (translatedText), ahead of its voice, and
// is marked when its voice starts playing; the line being heard is highlighted, the
// original text optional per line. The history scrolls to the newest line unless the
// reader scrolled up to re-read: whether it follows is decided when the reader scrolls, not
// when a line comes, so a change of layout (the original shown, the caption growing) does
// not leave it behind. The newest line is shown once: in the big caption, not in the list.
// A line in a language other than the one before it carries a marker ("Now in Français").
//
// CaptionBook is the state (pure, tested in Vitest); CaptionHistory draws it in a list.

import { atBottom, type ScrollBox } from '@llt/shared';

export interface CaptionText {
  index: number;
  language: string; // after a switch, the same index can come in the new language too
  text: string;
  sourceText?: string;
}

export interface CaptionLine extends CaptionText {
  voiced: boolean; // its clip has started playing
  switched: boolean; // the first line after a language switch (the line before it is in another language)
}

/** Where a change landed: the line, its position in the book, and whether it is new. */
export interface Placed {
  line: CaptionLine;
  position: number;
  added: boolean;
}

export class CaptionBook {
  readonly lines: CaptionLine[] = []; // in index order, whatever order captions arrive in
  private current: number | null = null;

  constructor(private readonly limit = 500) {} // a long talk stays light on a phone

  get currentIndex(): number | null {
    return this.current;
  }

  /** The newest line: what the big caption shows. */
  get latest(): CaptionLine | undefined {
    return this.lines[this.lines.length - 1];
  }

  /** A caption arrived: its line is shown at once (once; a repeat changes nothing). */
  caption(text: CaptionText): Placed {
    return this.place(text);
  }

  /** A clip started: its line (added if its caption never came) is marked and becomes current. */
  voice(text: CaptionText): Placed {
    const placed = this.place(text);
    placed.line.voiced = true;
    this.current = text.index;
    return placed;
  }

  /** Lines over the limit, oldest first, dropped; returns how many. */
  trim(): number {
    const over = Math.max(0, this.lines.length - this.limit);
    this.lines.splice(0, over);
    return over;
  }

  clearCurrent(): void {
    this.current = null;
  }

  /** The language changed: lines whose voice will now never play go; returns their positions. */
  dropUnvoiced(): number[] {
    const positions = this.lines.flatMap((l, position) => (l.voiced ? [] : [position]));
    for (const position of [...positions].reverse()) this.lines.splice(position, 1);
    return positions;
  }

  clear(): void {
    this.lines.length = 0;
    this.current = null;
  }

  private place(text: CaptionText): Placed {
    const found = this.lines.findIndex((l) => l.index === text.index && l.language === text.language);
    const existing = this.lines[found];
    if (existing) return { line: existing, position: found, added: false };
    let position = this.lines.findIndex((l) => l.index > text.index);
    if (position === -1) position = this.lines.length;
    const before = this.lines[position - 1];
    const line: CaptionLine = { ...text, voiced: false, switched: before !== undefined && before.language !== text.language };
    this.lines.splice(position, 0, line);
    return { line, position, added: true };
  }
}

/** Whether a scrolling box keeps showing its end: set by the reader's scrolling only. */
export class Follower {
  following = true;

  constructor(private readonly box: ScrollBox) {}

  /** The reader scrolled (or the box was scrolled to its end): follow again only at the end. */
  scrolled(): void {
    this.following = atBottom(this.box);
  }

  /** After lines were added or the layout changed: back to the end if following. */
  settle(): void {
    if (this.following) this.box.scrollTop = this.box.scrollHeight;
  }
}

export class CaptionHistory {
  readonly book: CaptionBook;
  private readonly follower: Follower;

  constructor(
    private readonly list: HTMLElement,
    private readonly marker: (language: string) => string,
    limit = 500,
  ) {
    this.book = new CaptionBook(limit);
    this.follower = new Follower(list);
    list.addEventListener('scroll', () => this.follower.scrolled(), { passive: true });
    // The list shrinks when the caption above it grows or the original is shown.
    new ResizeObserver(() => this.follower.settle()).observe(list);
  }

  /** The layout changed (e.g. the original text shown in every line): stay at the end if following. */
  relayout(change: () => void): void {
    change();
    this.follower.settle();
  }

  /** The line shown in the big caption is not repeated in the list. */
  showInCaption(line: CaptionLine | undefined): void {
    for (const item of Array.from(this.list.children) as HTMLElement[]) {
      item.classList.toggle('in-caption', line !== undefined && item.dataset.index === String(line.index) && item.dataset.language === line.language);
    }
    this.follower.settle();
  }

  get currentIndex(): number | null {
    return this.book.currentIndex;
  }

  caption(text: CaptionText): Placed {
    return this.draw(() => this.book.caption(text));
  }

  voice(text: CaptionText): Placed {
    const placed = this.draw(() => this.book.voice(text));
    this.highlight();
    return placed;
  }

  /** Nothing is being heard (paused, switched, ended): no line is highlighted. */
  clearCurrent(): void {
    this.book.clearCurrent();
    this.highlight();
  }

  /** The language changed: captions whose voice will never play are taken down. */
  dropUnvoiced(): void {
    for (const position of this.book.dropUnvoiced().reverse()) this.list.children[position]?.remove();
  }

  clear(): void {
    this.book.clear();
    this.list.replaceChildren();
  }

  private draw(change: () => Placed): Placed {
    const placed = change();
    const { line, position, added } = placed;
    if (added) this.list.insertBefore(this.render(line), this.list.children[position] ?? null);
    const item = this.list.children[position] as HTMLElement | undefined;
    if (item) item.dataset.voiced = String(line.voiced);
    for (let n = this.book.trim(); n > 0; n -= 1) this.list.firstElementChild?.remove();
    this.follower.settle();
    return placed;
  }

  private highlight(): void {
    const index = this.book.currentIndex;
    for (const item of Array.from(this.list.children) as HTMLElement[]) {
      const on = index !== null && item.dataset.index === String(index);
      item.classList.toggle('current', on);
      if (on) item.setAttribute('aria-current', 'true');
      else item.removeAttribute('aria-current');
    }
  }

  private render(line: CaptionLine): HTMLElement {
    const item = document.createElement('li');
    item.dataset.index = String(line.index);
    item.dataset.language = line.language;
    item.lang = line.language; // read with the rules of its own language
    item.dataset.testid = 'caption-line';
    if (line.switched) {
      const marker = document.createElement('span');
      marker.className = 'marker';
      marker.dataset.testid = 'language-marker';
      marker.textContent = this.marker(line.language);
      item.append(marker);
    }
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = line.text;
    item.append(text);
    if (line.sourceText && line.sourceText !== line.text) {
      const original = document.createElement('span');
      original.className = 'original';
      original.textContent = line.sourceText;
      item.append(original);
    }
    return item;
  }
}
