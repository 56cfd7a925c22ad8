// Microphone level for the meter, and the two warnings a speaker needs: nothing is
// coming in (muted or wrong microphone) and the signal clips (too loud).
export interface LevelReading {
  rmsDb: number;
  peak: number;
}

export function measure(samples: Float32Array): LevelReading {
  let sum = 0;
  let peak = 0;
  for (const sample of samples) {
    sum += sample * sample;
    peak = Math.max(peak, Math.abs(sample));
  }
  const rms = Math.sqrt(sum / Math.max(samples.length, 1));
  return { rmsDb: rms > 0 ? 20 * Math.log10(rms) : -Infinity, peak };
}

export class LevelWatch {
  private quietSince: number | null = null;
  private clippedAt = -Infinity;

  constructor(
    private readonly silenceDb = -55,
    private readonly silenceMs = 5000,
    private readonly clipPeak = 0.99,
    private readonly clipHoldMs = 1500,
  ) {}

  update(reading: LevelReading, now: number): { silent: boolean; clipping: boolean } {
    if (reading.rmsDb < this.silenceDb) this.quietSince ??= now;
    else this.quietSince = null;
    if (reading.peak >= this.clipPeak) this.clippedAt = now;
    return {
      silent: this.quietSince !== null && now - this.quietSince >= this.silenceMs,
      clipping: now - this.clippedAt < this.clipHoldMs,
    };
  }
}
