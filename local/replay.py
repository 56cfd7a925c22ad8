"""Replays recorded MediaRecorder chunks through the real chunk writer and segmenter,
without the session worker around them: no lease, no recognition stream. (A capture's audio
itself, without this write path, is local/kit/captures.py's `Capture`.)

S3 is moto in process; the chunks are read by key, as the worker reads them; the cursor
is kept in memory; the segments are collected instead of streamed: the tests of the
segment planner's I/O, the consumer bench, and `python -m local.replay_cli`."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from chunk_writer.writer import ChunkWriter
from local.paths import ffmpeg_path
from s3_audio_consumer.decoder import FfmpegDecoder
from s3_audio_consumer.keyed_chunks import Hints, KeyedChunkStore
from s3_audio_consumer.planner import Batch, Cursor, PlanSettings, SessionState
from s3_audio_consumer.ports import Decoder
from s3_audio_consumer.segmenter import Segmenter
from shared.chunk_events import ChunkEvent

BUCKET = "replay-chunks"


class MemoryCursorStore:
    """The ingest cursor in memory, with the production store's versioned claims: the
    replay and the bench run no worker, so there is no lease to fence the writes with
    (the session item's store, s3_audio_consumer/adapters.py, always has one)."""

    def __init__(self, source_language: str) -> None:
        self._state = SessionState(source_language, Cursor())
        self._lock = threading.Lock()

    def load(self, session_id: str) -> SessionState | None:
        with self._lock:
            return self._state

    def claim(self, session_id: str, expected_version: int, new: Cursor) -> bool:
        with self._lock:
            if self._state.cursor.version != expected_version:
                return False
            self._state = replace(self._state, cursor=new)
            return True

    def restore(self, session_id: str, written: Cursor, previous: Cursor) -> bool:
        return self.claim(session_id, written.version, replace(previous, version=written.version + 1))


def load_chunks(chunk_dir: Path) -> list[bytes]:
    files = sorted(chunk_dir.glob("chunk-*.webm"))
    if not files:
        raise FileNotFoundError(f"no chunk-NNNN.webm files in {chunk_dir}")
    return [f.read_bytes() for f in files]


def create_bucket(session: boto3.Session) -> Any:
    s3 = session.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    return s3


@dataclass
class Replay:
    """One session's chunks through the real chunk writer and segmenter, read by key as
    the worker reads them; the segments are collected instead of streamed."""

    s3: Any
    session_id: str
    settings: PlanSettings
    source_language: str = "en"
    batches: list[Batch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.writer = ChunkWriter(self.s3, BUCKET)
        self.cursors = MemoryCursorStore(self.source_language)
        self._hints: list[Hints] = []
        self._last_seq = -1
        self._final_seq: int | None = None
        self.segmenter = self.new_segmenter()

    def new_segmenter(self, decoder: Decoder | None = None) -> Segmenter:
        """Another segmenter on the same cursor: a second worker, as a stalled one and its
        replacement would be (their claims decide who feeds what)."""
        chunks = KeyedChunkStore(self.s3, BUCKET, time.time)
        chunks.hints.last_seq, chunks.hints.final_seq = self._last_seq, self._final_seq
        self._hints.append(chunks.hints)
        settings = replace(self.settings, max_chunks_per_read=chunks.read_ahead)
        return Segmenter(
            self.cursors,
            chunks,
            decoder or FfmpegDecoder(ffmpeg_path()),
            self.batches.append,
            settings,
            time.time,
        )

    def store(self, seq: int, chunk: bytes) -> None:
        """The chunk writer stores it; the connection handler's lastSeq follows."""
        self.writer.write(ChunkEvent(self.session_id, seq, base64.b64encode(chunk).decode()).payload())
        self._last_seq = max(self._last_seq, seq)
        for hints in self._hints:
            hints.last_seq = self._last_seq

    def end(self, final_seq: int) -> None:
        """The talk is over (the session item says so), its last chunk `final_seq`."""
        self._final_seq = final_seq
        for hints in self._hints:
            hints.final_seq = final_seq

    def event(self, segmenter: Segmenter | None = None) -> int:
        """One `advance` of a segmenter, as the worker makes in each poll of its loop;
        returns how many segments it handed on."""
        return (segmenter or self.segmenter).advance(self.session_id)


def replay_in_order(
    chunks: Iterable[bytes], session_id: str = "steady-river-1234", target_ms: int = 3000
) -> list[Batch]:
    with mock_aws():
        session = boto3.Session(
            aws_access_key_id="replay", aws_secret_access_key="replay", region_name="us-east-1"
        )
        replay = Replay(
            create_bucket(session), session_id, PlanSettings(target_ms=target_ms, gap_wait_seconds=0.0)
        )
        last = -1
        for seq, chunk in enumerate(chunks):
            replay.store(seq, chunk)
            replay.event()
            last = seq
        replay.end(last)
        replay.event()
        return sorted(replay.batches, key=lambda b: b.index)
