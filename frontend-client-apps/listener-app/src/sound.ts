// The listener's sound: one AudioContext made inside a tap (browsers, iOS in particular,
// allow sound only from a gesture) with a gain for the volume and mute, and the one-tap
// resume when the browser suspended it (a call, the phone locked).
import type { MessageKey } from './i18n';

export interface SoundControls {
  mute: HTMLButtonElement; // aria-pressed: muted
  volume: HTMLInputElement; // 0..1
}

export class Sound {
  private context: AudioContext | null = null;
  private gain: GainNode | null = null;

  constructor(
    private readonly controls: SoundControls,
    private readonly label: (element: HTMLElement, key: MessageKey) => void,
    private readonly onChange: () => void, // the context's state changed (suspended, running)
  ) {
    controls.mute.addEventListener('click', () => {
      const muted = !this.muted;
      controls.mute.setAttribute('aria-pressed', String(muted));
      this.label(controls.mute, muted ? 'unmute' : 'mute');
      this.apply();
    });
    controls.volume.addEventListener('input', () => this.apply());
  }

  /** Made inside the join tap: the context and the node clips play into. */
  start(): { context: AudioContext; destination: GainNode } {
    const context = new AudioContext({ latencyHint: 'playback' });
    context.onstatechange = () => this.onChange();
    const gain = context.createGain();
    gain.connect(context.destination);
    this.context = context;
    this.gain = gain;
    this.apply();
    void context.resume();
    return { context, destination: gain };
  }

  /** The browser stopped the sound while it should play. */
  get suspended(): boolean {
    return this.context !== null && this.context.state !== 'running';
  }

  /** The one-tap resume: a tap lets the browser start the sound again. */
  resume(): Promise<void> {
    return this.context?.resume() ?? Promise.resolve();
  }

  private get muted(): boolean {
    return this.controls.mute.getAttribute('aria-pressed') === 'true';
  }

  private apply(): void {
    if (this.gain) this.gain.gain.value = this.muted ? 0 : Number(this.controls.volume.value);
  }
}
