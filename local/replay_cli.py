"""CLI behind scripts/replay-chunks."""

from __future__ import annotations

import argparse
import json
import wave
from pathlib import Path

from local.replay import load_chunks, replay_in_order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("chunk_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--target-ms", type=int, default=3000)
    args = parser.parse_args()
    batches = replay_in_order(load_chunks(args.chunk_dir), target_ms=args.target_ms)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    for batch in batches:
        with wave.open(str(args.out_dir / f"batch-{batch.index:04d}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(batch.pcm)
        manifest.append(
            {
                "index": batch.index,
                "startMs": batch.start_ms,
                "durationMs": batch.duration_ms,
                "firstSeq": batch.first_seq,
                "lastSeq": batch.last_seq,
                "samples": len(batch.pcm) // 2,
            }
        )
    (args.out_dir / "manifest.json").write_text(json.dumps({"batches": manifest}, indent=2) + "\n")
    print(f"{len(batches)} batches -> {args.out_dir}")


if __name__ == "__main__":
    main()
