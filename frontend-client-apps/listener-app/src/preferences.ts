// What the listener chose on this device, kept across visits: captions only, the text size
// and high contrast. Stored in localStorage (a private window may refuse it: the page works
// on with the defaults).

export const TEXT_SIZES = ['small', 'medium', 'large'] as const;
export type TextSize = (typeof TEXT_SIZES)[number];

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const KEYS = { captionsOnly: 'llt.captionsOnly', textSize: 'llt.textSize', contrast: 'llt.highContrast' } as const;

export class Preferences {
  constructor(private readonly storage: StorageLike | null) {}

  get captionsOnly(): boolean {
    return this.read(KEYS.captionsOnly) === 'true';
  }

  set captionsOnly(on: boolean) {
    this.write(KEYS.captionsOnly, String(on));
  }

  get textSize(): TextSize {
    const stored = this.read(KEYS.textSize);
    return TEXT_SIZES.find((size) => size === stored) ?? 'medium';
  }

  set textSize(size: TextSize) {
    this.write(KEYS.textSize, size);
  }

  /** High contrast as chosen here; unset, the page follows the system's prefers-contrast. */
  highContrast(systemPrefersMore: boolean): boolean {
    const stored = this.read(KEYS.contrast);
    return stored === null ? systemPrefersMore : stored === 'true';
  }

  set contrast(on: boolean) {
    this.write(KEYS.contrast, String(on));
  }

  private read(key: string): string | null {
    try {
      return this.storage?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }

  private write(key: string, value: string): void {
    try {
      this.storage?.setItem(key, value);
    } catch {
      // storage refused (private mode, quota): the choice lasts for this visit only
    }
  }
}
