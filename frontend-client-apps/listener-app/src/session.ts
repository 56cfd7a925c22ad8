// The listener page's session state, apart from the DOM so that tests can reach it: which
// banner the session's messages call for, and the join to send on every new connection.
import { normaliseSessionCode, type ClientAction, type ProtocolSocket, type ServerMessage } from '@llt/shared';
import type { MessageKey } from './i18n';

export type BannerKind = 'none' | 'paused' | 'suspended' | 'ended' | 'speakerGone';

/** The banner's message in the page's catalog (src/i18n); none for 'none'. */
export function bannerKey(kind: BannerKind): MessageKey | null {
  return kind === 'none' ? null : `banner.${kind}`;
}

/** The banner after a message (unchanged by messages that are not about the session's state). */
export function nextBanner(current: BannerKind, message: ServerMessage): BannerKind {
  switch (message.type) {
    case 'sessionJoined':
      return message.status === 'paused' ? 'paused' : message.status === 'suspended' ? 'suspended' : 'none';
    case 'sessionSuspended':
      return 'suspended';
    case 'sessionPaused':
      return 'paused';
    case 'sessionResumed':
      return 'none';
    case 'sessionEnded':
      return message.reason === 'speakerDisconnected' ? 'speakerGone' : 'ended';
    case 'error':
      // A re-join after the end was missed (the page was offline when it was sent).
      if (message.action === 'joinSession' && (message.code === 'SESSION_ENDED' || message.code === 'SESSION_EXPIRED')) {
        return current === 'suspended' ? 'speakerGone' : 'ended';
      }
      return current;
    default:
      return current;
  }
}

/** Which session the page listens to, and the rejoin token of its last sessionJoined. */
export class Membership {
  sessionId = '';
  language = '';
  private token: { sessionId: string; value: string } | null = null;

  /** The listener's choice from the form; false when the code is not a session code. */
  choose(code: string, language: string): boolean {
    const sessionId = normaliseSessionCode(code);
    if (!sessionId) return false;
    this.sessionId = sessionId;
    this.language = language;
    if (this.token?.sessionId !== sessionId) this.token = null;
    return true;
  }

  /** The joinSession for a new connection (or the form), with the token when there is one. */
  join(): Extract<ClientAction, { action: 'joinSession' }> | null {
    if (!this.sessionId) return null;
    const token = this.token?.sessionId === this.sessionId ? this.token.value : null;
    return {
      action: 'joinSession',
      sessionId: this.sessionId,
      targetLanguage: this.language,
      ...(token ? { rejoinToken: token } : {}),
    };
  }

  /** Keeps what the server says: the joined language, and the newest token. */
  absorb(message: ServerMessage): void {
    if (message.type !== 'sessionJoined') return;
    this.language = message.targetLanguage;
    if (typeof message.rejoinToken === 'string' && message.rejoinToken) {
      this.token = { sessionId: message.sessionId, value: message.rejoinToken };
    }
  }

  /** The join was refused: the page stops re-joining on reconnects. */
  leave(): void {
    this.sessionId = '';
    this.token = null;
  }
}

/** The socket's onConnected: a new connection has no session, so join again (reconnect or renewal). */
export function rejoinOnConnect(membership: Membership): (socket: ProtocolSocket) => void {
  return (socket) => {
    const join = membership.join();
    if (join) socket.sendDuringSetup(join);
  };
}
