// What the listener is told about the state of things, in plain words: one status line
// derived from the session, the connection and the player (no jargon; the technical
// figures stay behind the "Details" toggle).

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
  | 'ended';

export interface StatusInputs {
  joined: boolean;
  ended: boolean;
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
  text: string;
  canJump: boolean;
}

export function listenerStatus(s: StatusInputs): ListenerStatus {
  const status = (kind: ListenerStatusKind, text: string, canJump = false): ListenerStatus => ({ kind, text, canJump });
  if (s.ended) return status('ended', 'The session has ended. Thank you for listening.');
  if (s.connection === 'reconnecting' || (s.joined && s.connection === 'connecting')) {
    return status('reconnecting', 'Connection lost — reconnecting. You will hear the speaker again in a moment.');
  }
  if (!s.joined) return status('joining', 'Joining the session…');
  if (s.listenerPaused) return status('listenerPaused', 'Paused. Press Resume to hear the speaker live.');
  if (s.session === 'suspended') return status('suspended', "The speaker's connection dropped — waiting for them to come back…");
  if (s.switchingTo) return status('switching', `Switching to ${s.switchingTo}…`);
  if (s.behindSeconds > BEHIND_THRESHOLD_SECONDS) {
    return status('behind', `You are ${Math.round(s.behindSeconds)} seconds behind the speaker.`, true);
  }
  if (s.session === 'paused') return status('speakerPaused', 'The speaker has paused. Stay here: it resumes on its own.');
  if (!s.heardAny) return status('waiting', 'Waiting for the speaker… The translation starts a few seconds after they speak.');
  return status('live', 'Live');
}
