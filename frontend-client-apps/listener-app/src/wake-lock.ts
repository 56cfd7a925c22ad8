// The screen stays on while the listener listens: phones dim and lock during a long talk,
// and a locked phone stops Web Audio on many devices. The browser releases the lock when
// the page is hidden, so it is asked for again when the page is visible; it is let go on
// pause and at the end. Browsers without the Screen Wake Lock API just go without.

export interface SentinelLike {
  readonly released: boolean;
  release(): Promise<void>;
}

export interface WakeLockLike {
  request(type: 'screen'): Promise<SentinelLike>;
}

export class ScreenAwake {
  private wanted = false;
  private sentinel: SentinelLike | null = null;

  constructor(
    private readonly wakeLock: WakeLockLike | undefined,
    private readonly visible: () => boolean,
  ) {}

  get held(): boolean {
    return this.sentinel !== null && !this.sentinel.released;
  }

  /** Listening (true) or not (paused, ended: false). */
  async want(on: boolean): Promise<void> {
    this.wanted = on;
    if (on) await this.acquire();
    else await this.release();
  }

  /** The page became visible again: the browser dropped the lock when it was hidden. */
  async visibilityChanged(): Promise<void> {
    if (this.wanted && this.visible()) await this.acquire();
  }

  private async acquire(): Promise<void> {
    if (!this.wakeLock || this.held || !this.visible()) return;
    try {
      this.sentinel = await this.wakeLock.request('screen');
    } catch {
      this.sentinel = null; // refused (battery saver, no permission): the talk goes on without it
    }
    if (!this.wanted) await this.release(); // paused while the request was pending
  }

  private async release(): Promise<void> {
    const sentinel = this.sentinel;
    this.sentinel = null;
    if (sentinel && !sentinel.released) await sentinel.release();
  }
}
