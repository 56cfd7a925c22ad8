// Every word the speaker page writes from its script, in one place, so that the page can
// follow the listener's into other languages later (listener-app/src/i18n). English only
// for now; index.html holds the fixed labels.
import type { Notice, SendStatus } from './broadcast';
import type { Prompt } from './auth';

export const TEXT = {
  connection: { connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…', closed: 'Disconnected' } as Record<string, string>,
  create: 'Create session',
  creating: 'Creating the session…',
  creatingHeld: 'Creating the session as soon as the connection is ready…',
  broadcast: { idle: 'Not broadcasting', live: 'Broadcasting live', paused: 'Paused', ended: 'Session ended' },
  copied: 'Copied',
  copy: 'Copy',
  copyFailed: 'Could not copy: the link is selected, copy it with your keyboard.',
  endedNote: 'This session has ended: its code and link no longer work. The transcripts stay available below.',
  downloadTranscript: 'Download transcript',
  preparingTranscript: 'Preparing the transcript…',
  transcriptLabel: (language: string) => `Transcript (${language})`,
  missed: (seconds: number) => `${seconds} s of audio did not arrive before this.`,
  microphone: (n: number) => `Microphone ${n}`,
  microphoneError: (message: string) => `Microphone: ${message}`,
  signInFailed: (message: string) => `Sign-in failed: ${message}`,
  notice: {
    resumeFailed: 'Could not resume the session after reconnecting.',
    endedWhileAway: 'The session ended while you were disconnected.',
  } satisfies Record<Notice, string>,
  prompt: {
    newPassword: ['Choose a new password for your account.', 'New password'],
    totpCode: ['Enter the 6-digit code from your authenticator app.', 'Code'],
    totpSetup: ['Scan this QR code with an authenticator app, then enter the code it shows.', 'Code'],
  } satisfies Record<Prompt['kind'], [string, string]>,
  totpKey: (text: string, secret: string) => `${text} Key: ${secret}`,
};

/** The line under the controls about audio not yet sent (empty: nothing to say). */
export function sendStatusText(status: SendStatus): string {
  switch (status.kind) {
    case 'lost':
      return `${status.lostSeconds} s of audio could not be kept while offline and will be missing; sending the last ${status.seconds} s…`;
    case 'hopeless':
      return `${status.seconds} s of audio held back: the session could not be resumed.`;
    case 'holding':
      return `Holding ${status.seconds} s of audio until the session is back…`;
    case 'catchingUp':
      return `Catching up: ${status.seconds} s of audio still to send…`;
    case 'slowed':
      return 'The server asked for a slower pace: resending a little audio…';
    default:
      return '';
  }
}
