// Tiny DOM helpers shared by both apps: no framework, the pages are small.
export function byTestId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!element) throw new Error(`missing element data-testid=${id}`);
  return element;
}

export function show(element: HTMLElement, visible: boolean): void {
  element.hidden = !visible;
}

export const STATE_LABELS: Record<string, string> = {
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};

export interface ScrollBox {
  scrollTop: number;
  readonly scrollHeight: number;
  readonly clientHeight: number;
}

/** True when the box is scrolled (nearly) to its end: new lines should keep it there, and
 * a reader who scrolled up to re-read is left where they are. */
export function atBottom(box: ScrollBox, slackPx = 24): boolean {
  return box.scrollHeight - box.clientHeight - box.scrollTop <= slackPx;
}

const FORMAT_NAMES: Record<string, string> = { txt: 'Text', srt: 'Subtitles (SRT)', vtt: 'Subtitles (WebVTT)' };

/** Links to the files of a transcriptReady (text, SRT, WebVTT), into `box`, named in the
 * page's language (`names`, by extension; English without). */
export function showTranscriptLinks(
  box: HTMLElement,
  urls: Record<string, string>,
  label: string,
  names: Record<string, string> = FORMAT_NAMES,
): void {
  box.replaceChildren(
    document.createTextNode(`${label}: `),
    ...Object.entries(urls).map(([extension, url]) => {
      const link = document.createElement('a');
      link.href = url;
      link.textContent = names[extension] ?? extension;
      link.dataset.format = extension;
      link.setAttribute('download', '');
      return link;
    }),
  );
  box.hidden = false;
}
