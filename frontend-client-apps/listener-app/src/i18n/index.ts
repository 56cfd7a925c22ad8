// The listener page's language: i18next with a catalog per target language of
// lambdas/shared/languages.py. Plurals come from i18next (Intl.PluralRules underneath).
import { createInstance, type TFunction } from 'i18next';
import { ca } from './ca';
import type { Catalog, MessageKey } from './catalog';
import { de } from './de';
import { en } from './en';
import { es } from './es';
import { fr } from './fr';
import { hi } from './hi';
import { it } from './it';
import { ja } from './ja';
import { ko } from './ko';
import { nl } from './nl';
import { pt } from './pt';
import { zh } from './zh';

export type { Catalog, MessageKey } from './catalog';

export const CATALOGS: Record<string, Catalog> = { en, es, fr, de, it, pt, ja, ko, zh, hi, nl, ca };

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

/** The page's words: the caption language once chosen, before that the browser's first
 * language that has a catalog, then English. */
export function uiLanguage(captionLanguage: string | null, browserLanguages: readonly string[]): string {
  const candidates = [captionLanguage ?? '', ...browserLanguages].map((tag) => tag.toLowerCase().split('-')[0] ?? '');
  return candidates.find((code) => code in CATALOGS) ?? 'en';
}

/** A translator for one language; a key missing there falls back to English (the test
 * makes sure none is missing). */
export function translator(language: string): Translate {
  const i18n = createInstance();
  void i18n.init({
    lng: language,
    fallbackLng: 'en',
    resources: Object.fromEntries(Object.entries(CATALOGS).map(([code, words]) => [code, { translation: words }])),
    initAsync: false, // the catalogs are in the bundle: no reason to wait
    keySeparator: false, // keys are flat, with dots in their names
    nsSeparator: false,
    interpolation: { escapeValue: false }, // the page sets textContent, never HTML
  });
  const t: TFunction = i18n.t;
  return (key, values) => t(key, values ?? {}) as string;
}
