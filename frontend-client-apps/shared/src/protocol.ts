// The WebSocket protocol of docs/PROTOCOL.md, as types. shared/test/protocol.test.ts
// checks every name here against that page, so the two cannot drift apart.

export interface Language {
  code: string;
  nativeName: string;
  /** True when a speaker may speak it (it has a Transcribe locale). */
  source: boolean;
}

// lambdas/shared/languages.py is the one table; this is its browser copy (checked by test).
export const LANGUAGES: readonly Language[] = [
  { code: 'en', nativeName: 'English', source: true },
  { code: 'es', nativeName: 'Español', source: true },
  { code: 'fr', nativeName: 'Français', source: true },
  { code: 'de', nativeName: 'Deutsch', source: true },
  { code: 'it', nativeName: 'Italiano', source: true },
  { code: 'pt', nativeName: 'Português', source: true },
  { code: 'ja', nativeName: '日本語', source: true },
  { code: 'ko', nativeName: '한국어', source: true },
  { code: 'zh', nativeName: '中文', source: true },
  { code: 'hi', nativeName: 'हिन्दी', source: true },
  { code: 'nl', nativeName: 'Nederlands', source: false },
  { code: 'ca', nativeName: 'Català', source: false },
];

export const MAX_MESSAGE_BYTES = 32 * 1024;

/** Session codes: adjective-noun-NNNN (lambdas/shared/session_ids.py). */
export const SESSION_CODE_PATTERN = /^[a-z]{3,12}-[a-z]{3,12}-\d{4}$/;

/** A code as people type it (any case, stray spaces) in the form the server takes, or null. */
export function normaliseSessionCode(text: string): string | null {
  const code = text.trim().toLowerCase();
  return SESSION_CODE_PATTERN.test(code) ? code : null;
}

export type ClientAction =
  | { action: 'createSession'; sourceLanguage: string; title?: string; resumeSessionId?: string }
  | {
      action: 'joinSession';
      sessionId: string;
      targetLanguage: string;
      /** The last sessionJoined's token, on a re-join after a reconnect or renewal (only when there is one). */
      rejoinToken?: string;
    }
  | { action: 'switchLanguage'; targetLanguage: string }
  | { action: 'audioChunk'; sessionId: string; seq: number; data: string }
  | { action: 'pauseBroadcast'; sessionId: string }
  | { action: 'resumeBroadcast'; sessionId: string }
  | { action: 'endSession'; sessionId: string; lastSeq?: number }
  | { action: 'heartbeat' }
  | { action: 'getTranscript'; sessionId: string; language: string };

export const CLIENT_ACTIONS = [
  'createSession',
  'joinSession',
  'switchLanguage',
  'audioChunk',
  'pauseBroadcast',
  'resumeBroadcast',
  'endSession',
  'heartbeat',
  'getTranscript',
] as const satisfies readonly ClientAction['action'][];

export const ERROR_CODES = [
  'MESSAGE_TOO_LARGE',
  'INVALID_JSON',
  'INVALID_MESSAGE',
  'UNKNOWN_ACTION',
  'FORBIDDEN',
  'SESSION_NOT_FOUND',
  'SESSION_ENDED',
  'SESSION_EXPIRED',
  'SESSION_FULL',
  'SESSION_IN_PROGRESS',
  'NOT_JOINED',
  'UNSUPPORTED_LANGUAGE',
  'RATE_LIMITED',
  'BROADCAST_PAUSED',
  'INVALID_AUDIO',
  'SEQ_OUT_OF_RANGE',
  'TRANSLATION_UNAVAILABLE',
  'NO_TRANSCRIPT',
  'INTERNAL_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface SessionCreated {
  type: 'sessionCreated';
  sessionId: string;
  sourceLanguage: string;
  title: string;
  listenerUrl: string;
  expiresAt: number;
  resumed?: boolean;
  /** With resumed: the broadcast's state on the server. */
  status?: 'active' | 'paused';
  /** With resumed: the highest audioChunk seq the server has accepted, -1 if none. */
  lastSeq?: number;
}
export interface SessionJoined {
  type: 'sessionJoined';
  sessionId: string;
  targetLanguage: string;
  sourceLanguage: string;
  title: string;
  status: 'active' | 'paused' | 'suspended';
  /** Sent back in the joinSession of a reconnect or renewal (opaque; absent after switchLanguage). */
  rejoinToken?: string;
  /** The languages this session can be heard in (the language picker offers only these). */
  languages?: string[];
}
export interface ListenerStats {
  type: 'listenerStats';
  sessionId: string;
  listeners: Record<string, number>;
  total: number;
}
export interface SessionPaused {
  type: 'sessionPaused';
  sessionId: string;
}
export interface SessionResumed {
  type: 'sessionResumed';
  sessionId: string;
}
/** The speaker's connection dropped: the session waits for them until resumeBy. */
export interface SessionSuspended {
  type: 'sessionSuspended';
  sessionId: string;
  reason: 'speakerDisconnected';
  /** Epoch seconds: the end of the grace period. */
  resumeBy: number;
}
export interface SessionEnded {
  type: 'sessionEnded';
  sessionId: string;
  reason: 'endedBySpeaker' | 'speakerDisconnected';
}
export interface Heartbeat {
  type: 'heartbeat';
  serverTime: number;
}
export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
  action?: string;
  sessionId?: string;
  language?: string;
  index?: number;
  /** On an audioChunk error: that chunk's seq (RATE_LIMITED and INTERNAL_ERROR: it was not stored, resend it). */
  seq?: number;
}
export interface TranscriptMessage {
  type: 'transcript';
  sessionId: string;
  index: number;
  text: string;
  startMs: number;
  durationMs: number;
  /** Audio just before this utterance that never reached the service. */
  missedMs?: number;
}
/** The speaker's running utterance: its stable words so far, and the words that may still change. */
export interface PartialTranscript {
  type: 'partialTranscript';
  sessionId: string;
  index: number;
  text: string;
  unstableText: string;
}
/** One stable clause of the running utterance `index`, translated: a preview of its caption. */
export interface ProvisionalCaption {
  type: 'provisionalCaption';
  sessionId: string;
  language: string;
  index: number;
  seq: number;
  text: string;
  sourceText: string;
  startMs: number;
  durationMs: number;
}
/** The caption of one utterance in one language, sent before its voice is made. */
export interface TranslatedText {
  type: 'translatedText';
  sessionId: string;
  language: string;
  index: number;
  text: string;
  sourceText: string;
  startMs: number;
  durationMs: number;
}
export interface TranslatedAudio {
  type: 'translatedAudio';
  sessionId: string;
  language: string;
  index: number;
  url: string;
  expiresAt: number;
  text: string;
  sourceText: string;
  startMs: number;
  durationMs: number;
  /** How long the clip plays, after the server fitted it to durationMs. */
  clipMs?: number;
}

/** The transcript so far in one language: presigned GETs of its files. */
export interface TranscriptReady {
  type: 'transcriptReady';
  sessionId: string;
  language: string;
  urls: { txt: string; srt: string; vtt: string };
  expiresAt: number;
  utterances: number;
}

export type ServerMessage =
  | SessionCreated
  | SessionJoined
  | ListenerStats
  | SessionPaused
  | SessionResumed
  | SessionSuspended
  | SessionEnded
  | Heartbeat
  | ErrorMessage
  | TranscriptMessage
  | PartialTranscript
  | ProvisionalCaption
  | TranslatedText
  | TranslatedAudio
  | TranscriptReady;

export const SERVER_MESSAGE_TYPES = [
  'sessionCreated',
  'sessionJoined',
  'listenerStats',
  'sessionPaused',
  'sessionResumed',
  'sessionSuspended',
  'sessionEnded',
  'heartbeat',
  'error',
  'transcript',
  'partialTranscript',
  'provisionalCaption',
  'translatedText',
  'translatedAudio',
  'transcriptReady',
] as const satisfies readonly ServerMessage['type'][];

/** A server message, or null when the text is not one this client understands. */
export function parseServerMessage(text: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !(SERVER_MESSAGE_TYPES as readonly string[]).includes(type)) return null;
  return value as ServerMessage;
}

/** The languages a picker offers: the served ones when the server says, else the whole table. */
export function offeredLanguages(served: readonly string[] | undefined): Language[] {
  if (!served || served.length === 0) return [...LANGUAGES];
  return LANGUAGES.filter((language) => served.includes(language.code));
}

export function languageName(code: string): string {
  return LANGUAGES.find((language) => language.code === code)?.nativeName ?? code;
}

/** Base64 of bytes, in slices: String.fromCharCode(...big) overflows the stack. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
