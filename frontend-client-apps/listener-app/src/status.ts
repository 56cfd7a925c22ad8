// What the listener is told about the state of things, in plain words: one status line
// derived from the session, the connection and the player (no jargon; the technical
// figures stay behind the "Details" toggle). The words come from the page's catalog
// (src/i18n): this module says which message, with which values.
import type { MessageKey } from './i18n';

export type ListenerStatusKind =
  | 'joining'
  | 'waiting'
  | 'live'
  | 'behind'
  | 'switching'
  | 'listenerPaused'
  | 'speakerPaused'
  | 'suspended'
  | 'reconnecting'
  | 'finishing'
  | 'ended';

export interface StatusInputs {
  joined: boolean;
  ended: boolean;
  finishing: boolean; // ended, but the last clips are still arriving or playing
  connection: string; // the socket's state: open, connecting, reconnecting, closed
  session: 'active' | 'paused' | 'suspended';
  switchingTo: string | null; // a language name while a switch waits for its first clip
  listenerPaused: boolean;
  heardAny: boolean;
  behindSeconds: number;
}

// A listener normally has one or two clips queued (up to ~10 s of speech): more is behind.
export const BEHIND_THRESHOLD_SECONDS = 10;

export interface ListenerStatus {
  kind: ListenerStatusKind;
  key: MessageKey;
  values: Record<string, string | number>;
  canJump: boolean;
}

function status(kind: ListenerStatusKind, values: Record<string, string | number> = {}, canJump = false): ListenerStatus {
  return { kind, key: `status.${kind}` as MessageKey, values, canJump };
}

export function listenerStatus(s: StatusInputs): ListenerStatus {
  if (s.ended) return status(s.finishing ? 'finishing' : 'ended');
  if (s.connection === 'reconnecting' || (s.joined && s.connection === 'connecting')) return status('reconnecting');
  if (!s.joined) return status('joining');
  if (s.listenerPaused) return status('listenerPaused');
  if (s.session === 'suspended') return status('suspended');
  if (s.switchingTo) return status('switching', { language: s.switchingTo });
  if (s.behindSeconds > BEHIND_THRESHOLD_SECONDS) return status('behind', { count: Math.round(s.behindSeconds) }, true);
  if (s.session === 'paused') return status('speakerPaused');
  if (!s.heardAny) return status('waiting');
  return status('live');
}

/** The banner says it already: the status line would repeat the same sentence. */
export function repeatsBanner(kind: ListenerStatusKind): boolean {
  return kind === 'ended' || kind === 'suspended' || kind === 'speakerPaused';
}
