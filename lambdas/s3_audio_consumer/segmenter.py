"""The segmenter: the I/O around the segment planner (`planner.py`).

Each `advance` loads the cursor, lists what the chunk store has from it on, reads the
run the planner asks for, decodes the planned segment, claims it (a write conditional
on the cursor's version, fenced by the worker's lease in production) and only then
hands it on: a segment is fed once, and a claim is never left standing for a segment
that was not decoded. It never sleeps: the worker polls it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from s3_audio_consumer import planner
from s3_audio_consumer.decoder import DecodeError
from s3_audio_consumer.planner import Batch, Cursor, Plan, PlanSettings, Read
from s3_audio_consumer.ports import ChunkStore, CursorStore, Decoder

logger = logging.getLogger(__name__)

MAX_PASSES = 1000  # per advance call: each pass claims, loses a claim or returns


@dataclass
class Counters:
    batches: int = 0
    gaps: int = 0
    decode_failures: int = 0
    lost_claims: int = 0


class Segmenter:
    def __init__(
        self,
        cursors: CursorStore,
        chunks: ChunkStore,
        decoder: Decoder,
        deliver: Callable[[Batch], None],
        settings: PlanSettings,
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
        """Hands on every segment that is ready now; returns how many this call did."""
        handed = 0
        for _ in range(MAX_PASSES):
            state = self._cursors.load(session_id)
            if state is None:
                logger.warning("chunks for an unknown session", extra={"sessionId": session_id})
                return handed
            if state.cursor.done:
                return handed
            listing = self._chunks.list_from(session_id, state.cursor.first_needed_seq)
            found = planner.survey(state.cursor, listing, self._clock(), self._settings)
            step = planner.before_read(state, found, self._settings)
            if isinstance(step, Read):
                chunks = self._chunks.read(session_id, step.seqs) if step.seqs else {}
                step = planner.cut(session_id, state, found, chunks, self._settings)
            if not isinstance(step, Plan):
                return handed  # nothing ready, or a missing chunk still waited for
            handed += self._hand_on(session_id, state.cursor, step)
        return handed

    def _hand_on(self, session_id: str, previous: Cursor, plan: Plan) -> int:
        """Decodes, then claims, then delivers. Returns 1 if a segment was handed on."""
        pcm = b""
        failure: DecodeError | None = None
        if plan.batch is not None:
            try:
                pcm = self._decoder.decode(plan.webm, plan.drop_samples)
            except DecodeError as error:  # these bytes never decode: retrying cannot help
                failure = error
        if not self._cursors.claim(session_id, previous.version, plan.cursor):
            self.counters.lost_claims += 1
            return 0
        self._note(session_id, plan)
        if plan.batch is None:
            return 0
        if failure is not None:
            self.counters.decode_failures += 1
            logger.error(
                "segment decode failed; skipped",
                extra={"sessionId": session_id, "index": plan.batch.index, "error": str(failure)},
            )
            return 0
        self._deliver(replace(plan.batch, pcm=pcm))
        self.counters.batches += 1
        return 1

    def _note(self, session_id: str, plan: Plan) -> None:
        """Logs and counts what a won claim means beyond its segment."""
        extra = {"sessionId": session_id}
        if plan.event in {"gap_skipped", "resync"}:
            self.counters.gaps += 1
            message = "chunk missing; skipped" if plan.event == "gap_skipped" else "unparseable chunk data"
            logger.warning(message + "; resynchronizing", extra={**extra, "seq": plan.missing_seq})
        elif plan.event == "flushed":
            logger.info("session audio flushed", extra={**extra, "batches": plan.cursor.batch_index})
        elif plan.event == "no_audio":
            logger.info("session ended before any audio", extra=extra)
        elif plan.event == "init_missing":
            logger.error("chunk 0 (init segment) never arrived; session audio cannot be decoded", extra=extra)
        elif plan.event == "init_invalid":
            logger.error("chunk 0 is not a MediaRecorder WebM/Opus init", extra=extra)
