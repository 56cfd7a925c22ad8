"""The session worker's ports: what it needs from storage and from the next stage.

Adapters: `adapters.py` (the cursor in the session item), `keyed_chunks.py` (chunks
by key in S3), `decoder.py` (ffmpeg), `wiring.py` (the processor's and the
successor's asynchronous invokes). The recognizer's port is `recognition.py`. Tests
and `local/` give their own."""

from __future__ import annotations

from typing import Protocol

from s3_audio_consumer.planner import Cursor, Listing, SessionState
from s3_audio_consumer.utterances import Utterance
from shared.audio_unit import ClauseUnit


class CursorStore(Protocol):
    def load(self, session_id: str) -> SessionState | None: ...

    def claim(self, session_id: str, expected_version: int, new: Cursor) -> bool:
        """Writes `new` if the stored cursor still has `expected_version`."""
        ...

    def restore(self, session_id: str, written: Cursor, previous: Cursor) -> bool:
        """Puts `previous` back (a crash replacement rewinding to the checkpoint), under
        version written.version + 1 so that versions only grow, if the stored cursor is
        still `written`. False if another claim has moved it on since."""
        ...


class ChunkStore(Protocol):
    def list_from(self, session_id: str, first_seq: int) -> Listing: ...
    def read(self, session_id: str, seqs: list[int]) -> dict[int, bytes]: ...


class Decoder(Protocol):
    def decode(self, webm: bytes, drop_samples_48k: int = 0) -> bytes: ...


class UtteranceSink(Protocol):
    def __call__(
        self, session_id: str, source_language: str, utterance: Utterance, missed_before_ms: int = 0
    ) -> None:
        """Hands one utterance to the processor (idempotent per session and index there),
        with the audio lost just before it, if any (the speaker is told)."""
        ...


class UndeliveredSink(Protocol):
    def __call__(
        self, session_id: str, source_language: str, utterance: Utterance, missed_before_ms: int, error: str
    ) -> None:
        """Keeps an utterance the processor would not take (its invoke failed, retries
        included) where an operator can redrive it: the talk goes on without it."""
        ...


class Successor(Protocol):
    def __call__(self, session_id: str, generation: int) -> None:
        """Starts the next worker for the session (an asynchronous invoke)."""
        ...


class LiveSink(Protocol):
    """The running utterance, while it is spoken (live_text.py). Best effort: a failure
    costs a live preview, never the talk."""

    def partial(self, speaker_connection_id: str, message: dict[str, object]) -> None:
        """Posts a `partialTranscript` to the speaker."""
        ...

    def clause(self, clause: ClauseUnit) -> None:
        """Hands one stable clause to the processor (an asynchronous invoke) to be
        translated once per language and shown to listeners as a provisional caption."""
        ...
