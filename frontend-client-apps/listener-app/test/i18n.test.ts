import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '@llt/shared';
import { CATALOGS, translator, uiLanguage } from '../src/i18n';
import { en } from '../src/i18n/en';

const CATEGORIES = /_(zero|one|two|few|many|other)$/;
const englishKeys = Object.keys(en);
const plainKeys = englishKeys.filter((key) => !CATEGORIES.test(key));
const pluralBases = [...new Set(englishKeys.filter((key) => CATEGORIES.test(key)).map((key) => key.replace(CATEGORIES, '')))];
const placeholders = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
const html = readFileSync(fileURLToPath(new URL('../index.html', import.meta.url)), 'utf8');

describe('the listener page speaks every target language', () => {
  it('has a catalog for each language of lambdas/shared/languages.py, and no other', () => {
    expect(Object.keys(CATALOGS).sort()).toEqual(LANGUAGES.map((l) => l.code).sort());
  });

  for (const [code, catalog] of Object.entries(CATALOGS)) {
    it(`${code}: every key, each plural form Intl.PluralRules names, the same placeholders`, () => {
      const words = catalog as Record<string, string>;
      expect(plainKeys.filter((key) => !words[key]?.trim())).toEqual([]);
      const categories = new Intl.PluralRules(code).resolvedOptions().pluralCategories;
      const missing = pluralBases.flatMap((base) => categories.map((c) => `${base}_${c}`)).filter((key) => !words[key]);
      expect(missing).toEqual([]);
      for (const key of Object.keys(words)) {
        const reference = en[key as keyof typeof en] ?? en[`${key.replace(CATEGORIES, '')}_other` as keyof typeof en];
        expect(reference, `${code} has a key English lacks: ${key}`).toBeDefined();
        expect(new Set(placeholders(words[key]!)), `${code} ${key}`).toEqual(new Set(placeholders(reference)));
      }
    });
  }

  it('names in index.html only keys the catalogs have', () => {
    const used = [...html.matchAll(/data-i18n(?:-[a-z-]+)?="(?:[a-z-]+:)?([^"]+)"/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((key) => !(key in en))).toEqual([]);
  });

  it('fills in values and picks the plural form of the language', () => {
    expect(translator('en')('status.behind', { count: 1 })).toBe('You are 1 second behind the speaker.');
    expect(translator('en')('status.behind', { count: 12 })).toBe('You are 12 seconds behind the speaker.');
    expect(translator('es')('status.behind', { count: 12 })).toBe('Vas 12 segundos por detrás del ponente.');
    expect(translator('ja')('status.switching', { language: 'Español' })).toBe('Español に切り替えています…');
    expect(translator('fr')('pause')).toBe('Pause');
    expect(translator('de')('mute')).toBe('Stumm');
  });
});

describe('the language of the page', () => {
  it('is the caption language once chosen', () => {
    expect(uiLanguage('ja', ['es-ES', 'en'])).toBe('ja');
  });

  it("before that, the browser's first language with a catalog, then English", () => {
    expect(uiLanguage(null, ['es-MX', 'en-US'])).toBe('es');
    expect(uiLanguage(null, ['sv-SE', 'fr-CA'])).toBe('fr');
    expect(uiLanguage(null, ['sv-SE'])).toBe('en');
    expect(uiLanguage(null, [])).toBe('en');
  });
});
