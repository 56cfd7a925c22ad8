"""The worker's view of the ingest cursor (see `TrackedCursors`)."""

from __future__ import annotations

import logging
from dataclasses import replace

from s3_audio_consumer.planner import Cursor, SessionState
from s3_audio_consumer.ports import CursorStore

logger = logging.getLogger(__name__)


class TrackedCursors:
    """The cursor store, remembering the cursor each segment was cut from: the place a
    crash replacement rewinds to, so re-fed audio covers the words not yet emitted.

    The worker's writes are fenced by its lease, so while it holds the lease nobody else
    moves the cursor: it is read once and then kept from the worker's own claims (the
    segmenter asks for it every poll, ~10 a second). A claim that fails (the lease moved
    on) forgets it, so the next load reads the table."""

    def __init__(self, inner: CursorStore) -> None:
        self.inner = inner
        self.loaded: Cursor | None = None
        self.last_claim: tuple[Cursor, Cursor] | None = None
        self._kept: SessionState | None = None

    def load(self, session_id: str) -> SessionState | None:
        state = self._kept or self.inner.load(session_id)
        self._kept = state
        self.loaded = state.cursor if state else None
        return state

    def claim(self, session_id: str, expected_version: int, new: Cursor) -> bool:
        claimed = self.inner.claim(session_id, expected_version, new)
        if claimed and self.loaded is not None:
            self.last_claim = (self.loaded, new)
        self._kept = replace(self._kept, cursor=new) if claimed and self._kept else None
        return claimed

    def restore(self, session_id: str, written: Cursor, previous: Cursor) -> bool:
        # What was loaded and claimed before is history now: the next load reads the table.
        self._kept = self.loaded = self.last_claim = None
        return self.inner.restore(session_id, written, previous)

    def rewind(self, session_id: str, resume: Cursor) -> None:
        """Puts the ingest cursor back to `resume` (a checkpoint's), unless it is there."""
        state = self.load(session_id)
        if state is None or state.cursor.version == resume.version:
            return
        if self.restore(session_id, state.cursor, resume):
            logger.warning("ingest cursor rewound to the checkpoint", extra={"sessionId": session_id})
