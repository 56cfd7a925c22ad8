"""Cuts a session's stored chunks into PCM batches, each chunk in exactly one batch.

A cursor in the session item says where the next batch's audio starts (a Cluster
start, as chunk seq + byte offset) and which Cluster precedes it (the pre-roll).
Any number of invocations may run for one session, in any order and more than
once per chunk: each computes the next batch from the cursor and claims it with a
conditional write; only the winner decodes and hands it on. Losers reload and look
for the batch after it."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from s3_audio_consumer import webm
from s3_audio_consumer.decoder import PCM_RATE, DecodeError

logger = logging.getLogger(__name__)


AFTER_INIT = -1  # the first Cluster of chunk 0
RESYNC = -2  # the first Cluster header found in chunk cut_seq (after a lost chunk)


@dataclass(frozen=True)
class Cursor:
    version: int = 0
    batch_index: int = 0
    cut_seq: int = 0
    cut_offset: int = -1  # AFTER_INIT or RESYNC, or a byte offset in chunk cut_seq
    preroll_seq: int = -1  # -1: no pre-roll (first batch, or after a lost chunk)
    preroll_offset: int = 0
    preroll_samples: int = 0
    emitted_samples: int = 0  # 48 kHz samples handed on so far: startMs of the next batch
    init: bytes = b""
    gaps: int = 0
    done: bool = False

    @property
    def first_needed_seq(self) -> int:
        return self.preroll_seq if self.preroll_seq >= 0 else self.cut_seq


@dataclass(frozen=True)
class SessionState:
    source_language: str
    cursor: Cursor


@dataclass(frozen=True)
class Listing:
    chunks: dict[int, float]  # seq -> LastModified (epoch seconds)
    final_seq: int | None = None  # from the end-of-stream marker
    final_marked_at: float | None = None


@dataclass(frozen=True)
class Batch:
    session_id: str
    index: int
    start_ms: int
    duration_ms: int
    first_seq: int
    last_seq: int
    pcm: bytes
    source_language: str

    def payload(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "index": self.index,
            "startMs": self.start_ms,
            "durationMs": self.duration_ms,
            "sourceLanguage": self.source_language,
            "sampleRate": PCM_RATE,
            "firstSeq": self.first_seq,
            "lastSeq": self.last_seq,
            "pcm": base64.b64encode(self.pcm).decode(),
        }


class CursorStore(Protocol):
    def load(self, session_id: str) -> SessionState | None: ...
    def claim(self, session_id: str, expected_version: int, new: Cursor) -> bool: ...


class ChunkStore(Protocol):
    def list_from(self, session_id: str, first_seq: int) -> Listing: ...
    def read(self, session_id: str, seqs: list[int]) -> dict[int, bytes]: ...


class Decoder(Protocol):
    def decode(self, webm: bytes, drop_samples_48k: int = 0) -> bytes: ...


@dataclass
class BatchSettings:
    target_ms: int = 3000
    gap_wait_seconds: float = 2.0
    max_chunks_per_read: int = 60
    estimated_chunk_ms: int = 300  # MediaRecorder timeslice 250 ms yields ~300 ms Opus clusters


@dataclass
class Counters:
    batches: int = 0
    gaps: int = 0
    decode_failures: int = 0
    lost_claims: int = 0


class Batcher:
    def __init__(
        self,
        cursors: CursorStore,
        chunks: ChunkStore,
        decoder: Decoder,
        deliver: Callable[[Batch], None],
        settings: BatchSettings,
        clock: Callable[[], float],
    ) -> None:
        self._cursors = cursors
        self._chunks = chunks
        self._decoder = decoder
        self._deliver = deliver
        self._settings = settings
        self._clock = clock
        self.counters = Counters()

    def advance(self, session_id: str) -> int:
        """Hands on every batch that is ready now; returns how many this call did."""
        handed = 0
        for _ in range(1000):  # bounded: each pass claims a batch or returns
            state = self._cursors.load(session_id)
            if state is None:
                logger.warning("chunks for an unknown session", extra={"sessionId": session_id})
                return handed
            if state.cursor.done:
                return handed
            plan = self._plan(session_id, state)
            if plan is None:
                return handed
            new_cursor, batch_webm, drop, batch = plan
            if not self._cursors.claim(session_id, state.cursor.version, new_cursor):
                self.counters.lost_claims += 1
                continue
            if batch is not None:
                self._decode_and_deliver(batch, batch_webm, drop)
                handed += 1
        return handed

    def _decode_and_deliver(self, batch: Batch, batch_webm: bytes, drop: int) -> None:
        try:
            pcm = self._decoder.decode(batch_webm, drop)
        except DecodeError as error:
            self.counters.decode_failures += 1
            logger.error(
                "batch decode failed; skipped",
                extra={"sessionId": batch.session_id, "index": batch.index, "error": str(error)},
            )
            return
        self.counters.batches += 1
        self._deliver(replace(batch, pcm=pcm))

    def _plan(self, session_id: str, state: SessionState) -> tuple[Cursor, bytes, int, Batch | None] | None:
        cursor = state.cursor
        settings = self._settings
        first = cursor.first_needed_seq
        listing = self._chunks.list_from(session_id, first)
        now = self._clock()

        run: list[int] = []
        seq = first
        while seq in listing.chunks and len(run) < settings.max_chunks_per_read:
            run.append(seq)
            seq += 1
        missing = seq  # first seq not available (or beyond the read limit)
        later = [s for s in listing.chunks if s > missing]
        final = listing.final_seq is not None and (not run or run[-1] >= listing.final_seq)
        if listing.final_seq is not None and listing.final_seq < first:
            final = True
        gap_ready = False
        if not final and len(run) < settings.max_chunks_per_read:
            waiting_since = min((listing.chunks[s] for s in later), default=None)
            if listing.final_seq is not None and listing.final_seq >= missing:
                waiting_since = min(filter(None, (waiting_since, listing.final_marked_at)), default=None)
            gap_ready = waiting_since is not None and now - waiting_since >= settings.gap_wait_seconds

        new_run = [s for s in run if s >= cursor.cut_seq]
        estimated_ms = len(new_run) * settings.estimated_chunk_ms
        if not final and not gap_ready and estimated_ms < settings.target_ms + settings.estimated_chunk_ms:
            return None

        data = self._chunks.read(session_id, run) if run else {}
        starts: dict[int, int] = {}
        parts: list[bytes] = []
        offset = 0
        for s in run:
            starts[s] = offset
            parts.append(data[s])
            offset += len(data[s])
        buf = b"".join(parts)

        init = cursor.init
        if not init:
            if not run or run[0] != 0:
                return self._lost_init(session_id, cursor, final or gap_ready)
            try:
                init = webm.parse_init(data[0]).data
            except webm.WebmError as error:
                logger.error("chunk 0 is not a MediaRecorder WebM/Opus init", extra={"error": str(error)})
                return replace(cursor, version=cursor.version + 1, done=True), b"", 0, None
        if cursor.cut_offset == AFTER_INIT:
            cut = len(init)
        elif cursor.cut_seq not in starts:
            cut = len(buf)
        elif cursor.cut_offset == RESYNC:
            found = webm.find_cluster_start(buf, starts[cursor.cut_seq])
            cut = found if found >= 0 else len(buf)
        else:
            cut = starts[cursor.cut_seq] + cursor.cut_offset
        try:
            clusters = webm.scan_clusters(buf, cut) if cut < len(buf) else []
        except webm.WebmError as error:
            logger.error("unparseable chunk data; resynchronizing", extra={"error": str(error)})
            clusters = []
            gap_ready = True

        target = settings.target_ms * 48
        chosen: list[webm.Cluster] = []
        total = 0
        next_cut: int | None = None
        for index, cluster in enumerate(clusters):
            if not cluster.complete:
                break
            chosen.append(cluster)
            total += cluster.samples
            if total >= target and index + 1 < len(clusters):
                next_cut = clusters[index + 1].offset
                break
        if next_cut is None:
            if not (final or gap_ready):
                return None
            chosen = [c for c in clusters if c.samples > 0]
            total = sum(c.samples for c in chosen)

        def position(offset_in_buf: int) -> tuple[int, int]:
            owner = max(s for s in run if starts[s] <= offset_in_buf)
            return owner, offset_in_buf - starts[owner]

        new = replace(cursor, version=cursor.version + 1, init=init)
        batch: Batch | None = None
        batch_webm = b""
        drop = 0
        if chosen:
            end = next_cut if next_cut is not None else chosen[-1].end
            preroll_start = (
                starts[cursor.preroll_seq] + cursor.preroll_offset if cursor.preroll_seq >= 0 else None
            )
            begin = preroll_start if preroll_start is not None else chosen[0].offset
            drop = cursor.preroll_samples if preroll_start is not None else 0
            batch_webm = init + buf[begin:end]
            first_seq = position(chosen[0].offset)[0]
            last_seq = position(max(end - 1, chosen[0].offset))[0]
            batch = Batch(
                session_id=session_id,
                index=cursor.batch_index,
                start_ms=cursor.emitted_samples // 48,
                duration_ms=total // 48,
                first_seq=first_seq,
                last_seq=last_seq,
                pcm=b"",
                source_language=state.source_language,
            )
            new = replace(
                new, batch_index=cursor.batch_index + 1, emitted_samples=cursor.emitted_samples + total
            )

        if next_cut is not None:
            last = chosen[-1]
            preroll_seq, preroll_offset = position(last.offset)
            cut_seq, cut_offset = position(next_cut)
            return (
                replace(
                    new,
                    cut_seq=cut_seq,
                    cut_offset=cut_offset,
                    preroll_seq=preroll_seq,
                    preroll_offset=preroll_offset,
                    preroll_samples=last.samples,
                ),
                batch_webm,
                drop,
                batch,
            )
        if final:
            logger.info("session audio flushed", extra={"sessionId": session_id, "batches": new.batch_index})
            return replace(new, done=True), batch_webm, drop, batch
        # A chunk is missing and was waited for: resume at the first Cluster after it.
        self.counters.gaps += 1
        logger.warning("chunk missing; skipped", extra={"sessionId": session_id, "seq": missing})
        resume_seq = min(later, default=missing + 1)
        return (
            replace(
                new,
                cut_seq=resume_seq,
                cut_offset=RESYNC,
                preroll_seq=-1,
                preroll_offset=0,
                preroll_samples=0,
                gaps=cursor.gaps + 1,
            ),
            batch_webm,
            drop,
            batch,
        )

    def _lost_init(
        self, session_id: str, cursor: Cursor, give_up: bool
    ) -> tuple[Cursor, bytes, int, None] | None:
        if not give_up:
            return None
        logger.error(
            "chunk 0 (init segment) never arrived; session audio cannot be decoded",
            extra={"sessionId": session_id},
        )
        return replace(cursor, version=cursor.version + 1, done=True), b"", 0, None
