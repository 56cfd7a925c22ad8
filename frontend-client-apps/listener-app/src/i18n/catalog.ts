// The shape every language's words take, from the English reference.
import type { en } from './en';

type PluralCategory = 'zero' | 'one' | 'two' | 'few' | 'many' | 'other';
type Key = keyof typeof en;
type PluralKey = Extract<Key, `${string}_${PluralCategory}`>;
/** What a caller asks for: a plain key, or a plural key without its category (with a count). */
export type MessageKey = Exclude<Key, PluralKey> | (PluralKey extends `${infer Base}_${PluralCategory}` ? Base : never);

// Plain keys are required by the compiler; plural forms differ per language (Japanese has
// only "other", Spanish "one", "many", "other"), so the test checks them against Intl.PluralRules.
export type Catalog = Record<Exclude<Key, PluralKey>, string> & Partial<Record<`${string}_${PluralCategory}`, string>>;
