// Audio chunks in order, whatever the connection does: sent at once when the socket is
// open, queued while it reconnects, flushed in seq order when it is back. The queue is
// bounded (oldest dropped first) but never drops chunk 0: it holds the WebM header
// without which no later chunk can be decoded.
export interface Chunk {
  seq: number;
  data: string;
}

export class ChunkQueue {
  private readonly queue: Chunk[] = [];
  dropped = 0;

  constructor(
    private readonly trySend: (chunk: Chunk) => boolean,
    private readonly limit = 240, // 240 × 250 ms = 60 s of audio
  ) {}

  get length(): number {
    return this.queue.length;
  }

  push(chunk: Chunk): void {
    this.queue.push(chunk);
    while (this.queue.length > this.limit) {
      const victim = this.queue[0]?.seq === 0 ? 1 : 0;
      this.queue.splice(victim, 1);
      this.dropped += 1;
    }
    this.flush();
  }

  flush(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (!next || !this.trySend(next)) return;
      this.queue.shift();
    }
  }
}
