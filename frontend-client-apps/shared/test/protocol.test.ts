import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ACTIONS,
  ERROR_CODES,
  LANGUAGES,
  SERVER_MESSAGE_TYPES,
  SESSION_CODE_PATTERN,
  normaliseSessionCode,
  parseServerMessage,
  toBase64,
} from '../src/protocol';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/PROTOCOL.md', import.meta.url)), 'utf8');
const sessionIdsPy = readFileSync(
  fileURLToPath(new URL('../../../lambdas/shared/session_ids.py', import.meta.url)),
  'utf8',
);
const languagesPy = readFileSync(
  fileURLToPath(new URL('../../../lambdas/shared/languages.py', import.meta.url)),
  'utf8',
);

describe('the protocol types follow docs/PROTOCOL.md', () => {
  it('names every client action the page lists, and no other', () => {
    const section = (doc.split('## Client actions')[1] ?? '').split('## Server messages')[0] ?? '';
    const documented = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    expect([...CLIENT_ACTIONS].sort()).toEqual([...new Set(documented)].sort());
  });

  it('knows every error code of the page', () => {
    const section = doc.split('## Error codes')[1] ?? '';
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...ERROR_CODES].sort()).toEqual(documented.sort());
  });

  it('knows every server message type of the page', () => {
    const section = (doc.split('## Server messages')[1] ?? '').split('## Languages')[0] ?? '';
    for (const type of SERVER_MESSAGE_TYPES) expect(section).toContain(`\`${type}\``);
  });

  it('has the language table of lambdas/shared/languages.py', () => {
    const table = [...languagesPy.matchAll(/Language\("(\w+)", "([^"]+)", (None|"[^"]+")/g)].map((m) => ({
      code: m[1],
      nativeName: m[2],
      source: m[3] !== 'None',
    }));
    expect(LANGUAGES).toEqual(table);
  });
});

describe('session codes', () => {
  it('have the pattern of lambdas/shared/session_ids.py', () => {
    const python = /SESSION_ID_PATTERN = re\.compile\(r"([^"]+)"\)/.exec(sessionIdsPy)?.[1];
    expect(SESSION_CODE_PATTERN.source).toBe(python);
  });

  it('are taken in any case and with stray spaces, and sent in lower case', () => {
    expect(normaliseSessionCode('swift-falcon-0420')).toBe('swift-falcon-0420');
    expect(normaliseSessionCode('  Swift-Falcon-0420\n')).toBe('swift-falcon-0420');
    expect(normaliseSessionCode('tranquil-glacier-0007')).toBe('tranquil-glacier-0007');
    for (const bad of ['swift-falcon-042', 'swift-falcon-04200', 'ab-falcon-0420', 'swift falcon 0420', '', 'swift-falcon-04a0']) {
      expect(normaliseSessionCode(bad)).toBeNull();
    }
  });
});

describe('parseServerMessage', () => {
  it('accepts the messages it knows', () => {
    expect(parseServerMessage('{"type":"heartbeat","serverTime":1}')).toEqual({ type: 'heartbeat', serverTime: 1 });
    const suspended = '{"type":"sessionSuspended","sessionId":"calm-lake-0001","reason":"speakerDisconnected","resumeBy":1800000120}';
    expect(parseServerMessage(suspended)).toMatchObject({ type: 'sessionSuspended', resumeBy: 1800000120 });
  });
  it.each(['not json', '[]', 'null', '{"type":"surprise"}', '{"no":"type"}'])('refuses %s', (text) => {
    expect(parseServerMessage(text)).toBeNull();
  });
});

it('encodes large chunks to base64 without overflowing the stack', () => {
  const bytes = new Uint8Array(200_000).map((_, i) => i % 256);
  expect(Buffer.from(toBase64(bytes), 'base64').equals(Buffer.from(bytes))).toBe(true);
});
