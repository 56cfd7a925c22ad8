// How the listener takes the talk in: with its voice (a ClipPlayer, made inside the join
// tap, since browsers allow sound only from a gesture) or as captions only, which fetches
// no clip at all (people who are deaf or hard of hearing, or have no headphones).
import type { Clip, ClipPlayer } from './player';

export class Listening {
  private current: ClipPlayer | null = null;
  private started = false; // the join tap came: a voice turned on later starts at once

  constructor(
    private readonly makePlayer: () => ClipPlayer,
    private captionsOnlyMode: boolean,
  ) {}

  get captionsOnly(): boolean {
    return this.captionsOnlyMode;
  }

  /** The player, when the talk is heard (null with captions only or before the tap). */
  get player(): ClipPlayer | null {
    return this.captionsOnlyMode ? null : this.current;
  }

  /** The join tap (a gesture): the voice starts here unless captions only. */
  start(): void {
    this.started = true;
    if (!this.captionsOnlyMode) this.current ??= this.makePlayer();
  }

  /** A translatedAudio in the listener's language: queued to be heard, or ignored. */
  clip(clip: Clip): void {
    this.player?.add(clip);
  }

  /** Changed from the settings (a tap, so a player may be made): voice off at once, or on. */
  setCaptionsOnly(on: boolean): void {
    this.captionsOnlyMode = on;
    if (on) this.current?.reset();
    else if (this.started) this.start();
  }

  /** The last clips are still to be heard (after the end, the page waits for them). */
  get playing(): boolean {
    return (this.player?.queuedSeconds ?? 0) > 0;
  }
}
