// Screen readers hear each final caption once: the big caption's text is replaced several
// times per line (first the caption, then its voice, after a switch), which a live region
// on it would read again each time. Each line is said once, into a polite live region that
// is visually hidden (the same words are on screen in the caption).

export type Say = (text: string, language: string) => void;

export class Announcer {
  private readonly said = new Set<string>();

  constructor(private readonly say: Say) {}

  /** Says a line's text unless it was said before; true when said. */
  announce(line: { index: number; language: string; text: string }): boolean {
    const key = `${line.language}:${line.index}`;
    if (this.said.has(key) || !line.text.trim()) return false;
    this.said.add(key);
    this.say(line.text, line.language);
    return true;
  }
}

/** Said into a live region: a new paragraph each time, the last few kept. */
export function liveRegion(region: HTMLElement, keep = 3): Say {
  return (text, language) => {
    const item = region.ownerDocument.createElement('p');
    item.lang = language;
    item.textContent = text;
    region.append(item);
    while (region.children.length > keep) region.firstElementChild?.remove();
  };
}
