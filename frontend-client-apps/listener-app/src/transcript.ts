// The listener's transcript to take home: asked for with the button (held while the
// connection is down), its links shown where the button is and focused, and a note when
// the listener switched languages (the transcript holds the current language only).
import { languageName, sendWhenOpen, show, showTranscriptLinks, type ProtocolSocket, type ServerMessage } from '@llt/shared';
import type { MessageKey, Translate } from './i18n';

export interface TranscriptParts {
  button: HTMLButtonElement;
  links: HTMLElement;
  note: HTMLElement;
  error: HTMLElement;
}

export class TranscriptDownload {
  private sessionId = ''; // kept after the end, when the page no longer re-joins
  private readonly languages = new Set<string>();

  constructor(
    private readonly parts: TranscriptParts,
    private readonly words: () => Translate,
    private readonly label: (element: HTMLElement, key: MessageKey) => void,
  ) {}

  /** The session whose transcript the button asks for. */
  remember(sessionId: string): void {
    if (sessionId) this.sessionId = sessionId;
  }

  /** A line was shown in this language. */
  heard(language: string): void {
    this.languages.add(language);
  }

  request(socket: ProtocolSocket, language: string): void {
    if (!this.sessionId) return;
    this.label(this.parts.button, 'preparingTranscript');
    show(this.parts.error, false);
    sendWhenOpen(socket, { action: 'getTranscript', sessionId: this.sessionId, language });
  }

  ready(message: Extract<ServerMessage, { type: 'transcriptReady' }>): void {
    const words = this.words();
    this.label(this.parts.button, 'downloadTranscript');
    const names = { txt: words('format.txt'), srt: words('format.srt'), vtt: words('format.vtt') };
    const language = languageName(message.language);
    showTranscriptLinks(this.parts.links, message.urls, words('transcriptLabel', { language }), names);
    this.parts.note.textContent = words('transcriptFromSwitch', { language });
    show(this.parts.note, this.languages.size > 1); // said rather than a surprise
    this.parts.links.scrollIntoView({ block: 'nearest' });
    this.parts.links.querySelector('a')?.focus();
  }

  failed(text: string): void {
    this.label(this.parts.button, 'downloadTranscript');
    this.parts.error.textContent = text;
    show(this.parts.error, true);
  }
}
