// The page's fixed words, from the catalog: each element marked in index.html gets its
// text (data-i18n) or its aria-label (data-i18n-label) in the page's language.
import type { MessageKey, Translate } from './i18n';

export function applyWords(root: ParentNode, words: Translate): void {
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n]')) {
    element.textContent = words(element.dataset.i18n as MessageKey);
  }
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n-label]')) {
    element.setAttribute('aria-label', words(element.dataset.i18nLabel as MessageKey));
  }
}
