// The caption history: every line heard so far in the listener's language, newest at the
// bottom, the one being heard highlighted, the original text optional per line. It
// follows the audio (a line is added when its clip starts playing), and it scrolls to
// the newest line unless the reader scrolled up to re-read.

export interface CaptionLine {
  index: number;
  text: string;
  sourceText?: string;
}

import { atBottom } from '@llt/shared';

export class CaptionHistory {
  readonly lines: CaptionLine[] = [];
  private current: number | null = null;

  constructor(
    private readonly list: HTMLElement,
    private readonly limit = 500, // a long talk stays light on a phone
  ) {}

  get currentIndex(): number | null {
    return this.current;
  }

  /** A clip started: its line is added (once) and becomes the current one. */
  add(line: CaptionLine): void {
    const follow = atBottom(this.list);
    if (!this.lines.some((l) => l.index === line.index)) {
      this.lines.push(line);
      this.list.append(this.render(line));
      while (this.lines.length > this.limit) {
        this.lines.shift();
        this.list.firstElementChild?.remove();
      }
    }
    this.highlight(line.index);
    if (follow) this.list.scrollTop = this.list.scrollHeight;
  }

  /** Nothing is being heard (paused, switched, ended): no line is highlighted. */
  clearCurrent(): void {
    this.highlight(null);
  }

  clear(): void {
    this.lines.length = 0;
    this.current = null;
    this.list.replaceChildren();
  }

  private highlight(index: number | null): void {
    this.current = index;
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
    item.dataset.testid = 'caption-line';
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
