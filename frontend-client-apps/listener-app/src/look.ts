// How the page looks, as the listener chose on this device (preferences.ts): the text size
// in three steps, and high contrast, which follows the system's prefers-contrast until the
// listener chooses. Both are set on <html>, where style.css reads them.
import { Preferences, type TextSize } from './preferences';

export interface LookControls {
  textSizes: HTMLInputElement[]; // radios, their value a TextSize
  highContrast: HTMLInputElement; // a checkbox
}

export function wireLook(prefs: Preferences, controls: LookControls, root: HTMLElement = document.documentElement): void {
  const contrastQuery = matchMedia('(prefers-contrast: more)');
  const applyTextSize = (size: TextSize) => {
    root.dataset.textSize = size;
    for (const input of controls.textSizes) input.checked = input.value === size;
  };
  const applyContrast = () => {
    const on = prefs.highContrast(contrastQuery.matches);
    root.classList.toggle('high-contrast', on);
    controls.highContrast.checked = on;
  };
  for (const input of controls.textSizes) {
    input.addEventListener('change', () => {
      prefs.textSize = input.value as TextSize;
      applyTextSize(prefs.textSize);
    });
  }
  controls.highContrast.addEventListener('change', () => {
    prefs.contrast = controls.highContrast.checked;
    applyContrast();
  });
  contrastQuery.addEventListener('change', applyContrast);
  applyTextSize(prefs.textSize);
  applyContrast();
}
