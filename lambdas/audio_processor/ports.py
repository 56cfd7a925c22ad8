"""The ports of the speech pipeline. AWS adapters live in aws_*.py; the local runner
brings offline ones; tests bring fakes at the SDK boundary.

Adapters raise `retry.Retryable` for faults worth another attempt and any other
exception for faults that are not."""

from __future__ import annotations

from typing import Protocol

from shared.languages import Language
from shared.transcript_records import RecordListing, UtteranceRecord


class Translator(Protocol):
    def translate(self, text: str, source: Language, target: Language) -> str: ...


class Synthesizer(Protocol):
    def synthesize(self, text: str, language: Language, rate: float = 1.0) -> bytes:
        """MP3 bytes of `text` spoken in `language`, `rate` times the voice's own pace."""
        ...


class ClipStore(Protocol):
    def put(self, key: str, mp3: bytes) -> str:
        """Stores the clip and returns a GET URL that expires after the configured time."""
        ...


class UtteranceRecords(Protocol):
    def put(self, record: UtteranceRecord) -> None: ...

    def all(self, session_id: str) -> list[UtteranceRecord]: ...

    def listing(self, session_id: str) -> RecordListing: ...

    def read(self, listing: RecordListing) -> list[UtteranceRecord]: ...


class ListenerDirectory(Protocol):
    def listeners(self, session_id: str) -> list[tuple[str, str]]:
        """(connectionId, targetLanguage) of every listener of the session."""
        ...

    def remove_gone(self, connection_ids: list[str]) -> list[str]:
        """Forgets listeners answered 410 and returns those removed; a listener still
        inside $connect is answered 410 too, and is kept."""
        ...

    def counts(self, session_id: str) -> dict[str, int]:
        """Listeners per language, as kept by joins and leaves."""
        ...


class SessionDirectory(Protocol):
    def speaker_connection(self, session_id: str) -> str | None: ...


class DeliveryLedger(Protocol):
    def claim(self, session_id: str, index: int, language: str) -> bool:
        """True the first time (session, index, language) is claimed; False ever after."""
        ...


class Sender(Protocol):
    def send_many(self, messages: list[tuple[str, dict[str, object]]]) -> list[str]:
        """Sends in parallel; returns the connection ids that are gone."""
        ...
