// What the listener page records of its clips, for the end-to-end tests (e2e/harness.ts
// reads it from the page): the lag behind the speaker, from the end of a sentence to
// hearing it, is computed from these. One definition, used by the page and the tests.
import type { Jump } from './player';

export interface Played {
  index: number;
  language: string;
  text: string;
  atMs: number; // when the clip started playing
  startMs: number | null; // where its speech was in the talk
  durationMs: number | null;
}

export interface Received {
  index: number;
  language: string;
  startMs: number;
  atMs: number; // when its translatedAudio arrived
}

/** A caption shown: when its line first appeared, from translatedText (or, missing that, its clip). */
export interface Captioned {
  index: number;
  language: string;
  atMs: number;
}

export interface PlayLogs {
  __playLog: Played[];
  __received: Received[];
  __captioned: Captioned[];
  __jumps: Jump[];
}

/** The page's logs, on `window` for the tests to read. */
export function exposePlayLogs(target: object): PlayLogs {
  const logs: PlayLogs = { __playLog: [], __received: [], __captioned: [], __jumps: [] };
  Object.assign(target, logs);
  return logs;
}
