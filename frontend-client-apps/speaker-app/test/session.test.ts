import { describe, expect, it } from 'vitest';
import type { ErrorMessage } from '@llt/shared';
import { chunkError, reconcile } from '../src/session';

const error = (fields: Partial<ErrorMessage>): ErrorMessage => ({
  type: 'error',
  code: 'INTERNAL_ERROR',
  message: 'x',
  ...fields,
});

describe('audioChunk errors', () => {
  it('resends the chunk the server did not store', () => {
    expect(chunkError(error({ action: 'audioChunk', code: 'RATE_LIMITED', seq: 7 }))).toBe('resend');
    expect(chunkError(error({ action: 'audioChunk', code: 'INTERNAL_ERROR', seq: 0 }))).toBe('resend');
  });

  it('does not resend the other refusals, and does not alarm the speaker about being slowed down', () => {
    expect(chunkError(error({ action: 'audioChunk', code: 'BROADCAST_PAUSED', seq: 7 }))).toBe('report');
    expect(chunkError(error({ action: 'audioChunk', code: 'SEQ_OUT_OF_RANGE', seq: 900 }))).toBe('report');
    expect(chunkError(error({ action: 'audioChunk', code: 'RATE_LIMITED' }))).toBe('quiet'); // no seq: cannot resend
    expect(chunkError(error({ action: 'createSession', code: 'RATE_LIMITED' }))).toBeNull();
  });
});

describe('the broadcast state after a resume', () => {
  it("brings the server in line with the speaker's last click", () => {
    expect(reconcile('live', 'active')).toBeNull();
    expect(reconcile('paused', 'paused')).toBeNull();
    expect(reconcile('live', 'paused')).toBe('resumeBroadcast'); // the resume died with the socket
    expect(reconcile('paused', 'active')).toBe('pauseBroadcast'); // a pause is never undone
    expect(reconcile('idle', 'active')).toBeNull();
    expect(reconcile('live', undefined)).toBeNull(); // a server without status
  });
});
