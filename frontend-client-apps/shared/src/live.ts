// The running utterance while it is spoken (docs/ARCHITECTURE.md §15): the listener's
// provisional caption and the speaker's live words. Pure state, tested in Vitest.
//
// Rules: a preview belongs to one index; once that index (or a later one) is final, its
// preview is gone and any late message for it is ignored; a later index's preview replaces
// an earlier one's; clauses show in `seq` order, whatever order they arrive in, and a clause
// is never replaced by an earlier one (a repeat changes nothing).

/** Languages written without spaces between words: their clauses are joined without one. */
export const NO_SPACES: ReadonlySet<string> = new Set(['ja', 'zh']);

export class Provisional {
  private index = -1;
  private finalIndex = -1;
  private readonly clauses = new Map<number, string>();

  /** A provisionalCaption: true when what is shown changed. */
  clause(index: number, seq: number, text: string): boolean {
    if (index <= this.finalIndex || index < this.index) return false;
    if (index > this.index) {
      this.index = index;
      this.clauses.clear();
    }
    if (this.clauses.has(seq)) return false;
    this.clauses.set(seq, text);
    return true;
  }

  /** The final caption of `index` came: its preview (and any older) is gone. True when it changed. */
  final(index: number): boolean {
    this.finalIndex = Math.max(this.finalIndex, index);
    if (this.index === -1 || this.index > this.finalIndex) return false;
    const had = this.clauses.size > 0;
    this.clauses.clear();
    this.index = -1;
    return had;
  }

  /** A language switch or a new session: nothing of the old one is shown. */
  reset(): void {
    this.index = -1;
    this.finalIndex = -1;
    this.clauses.clear();
  }

  get runningIndex(): number | null {
    return this.clauses.size > 0 ? this.index : null;
  }

  /** The clauses of the running index, in seq order. */
  text(separator = ' '): string {
    return [...this.clauses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, text]) => text)
      .join(separator);
  }
}

/** The speaker's live words: the latest partialTranscript of an index not yet transcribed. */
export class LiveWords {
  private index = -1;
  private doneIndex = -1;
  stable = '';
  unstable = '';

  partial(index: number, stable: string, unstable: string): boolean {
    if (index <= this.doneIndex || index < this.index) return false;
    if (index === this.index && !stable.startsWith(this.stable)) return false; // an older one overtaken
    this.index = index;
    this.stable = stable;
    this.unstable = unstable;
    return true;
  }

  /** The transcript of `index` came: its live words go. */
  transcribed(index: number): boolean {
    this.doneIndex = Math.max(this.doneIndex, index);
    if (this.index > this.doneIndex || (this.stable === '' && this.unstable === '')) return false;
    this.stable = '';
    this.unstable = '';
    return true;
  }
}
