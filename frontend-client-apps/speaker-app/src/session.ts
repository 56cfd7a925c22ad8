// The speaker page's protocol decisions, apart from the DOM so that tests can reach them.
import type { ErrorMessage, SessionCreated } from '@llt/shared';

export type BroadcastState = 'idle' | 'live' | 'paused';

/**
 * What an error reply to an audioChunk asks for: `resend` (the server did not store that
 * seq: RATE_LIMITED or INTERNAL_ERROR), `quiet` (nothing to show: being slowed down is
 * not the speaker's problem), `report` (show it), or null when it is not about a chunk.
 */
export function chunkError(message: ErrorMessage): 'resend' | 'quiet' | 'report' | null {
  if (message.action !== 'audioChunk') return null;
  const retryable = message.code === 'RATE_LIMITED' || message.code === 'INTERNAL_ERROR';
  if (retryable && typeof message.seq === 'number') return 'resend';
  return message.code === 'RATE_LIMITED' ? 'quiet' : 'report';
}

/**
 * After a resume, the control that brings the server's broadcast back in line with the
 * speaker's last click, which wins: a pause or resume made while disconnected never
 * reached the server (and a pause must never be undone behind the speaker's back).
 */
export function reconcile(
  local: BroadcastState,
  server: SessionCreated['status'],
): 'pauseBroadcast' | 'resumeBroadcast' | null {
  if (server === 'paused' && local === 'live') return 'resumeBroadcast';
  if (server === 'active' && local === 'paused') return 'pauseBroadcast';
  return null;
}
