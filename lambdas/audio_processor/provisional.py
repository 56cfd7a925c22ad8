"""Provisional captions: each stable clause of a running utterance translated once per
listener language and posted (`provisionalCaption`); the final caption of the utterance
reuses those translations (docs/ARCHITECTURE.md §15).

Each clause translation is kept once per (session, index, language, seq) by a conditional
put (`ClauseTranslations`): the first writer wins, a retried or duplicated invocation
finds it and posts nothing, and the final caption reads the same text back. So a word a
listener saw provisionally is in the final caption, and no clause is translated twice
(unless two invocations race between their read and their put: both translate, one posts)."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from audio_processor.ports import DeliveryLedger, ListenerDirectory, Sender, Translator
from audio_processor.retry import Deadline, RetryPolicy
from shared import protocol, resources
from shared.audio_unit import ClauseUnit, UtteranceUnit
from shared.languages import LANGUAGES, Language

logger = logging.getLogger(__name__)

NO_SPACES = frozenset({"ja", "zh"})  # written without spaces between words


def clause_slot(language: str, seq: int) -> str:
    """Ledger slot of a language's `provisionalCaption` for clause `seq` of an index."""
    return f"{language}#clause#{seq}"


def joiner(language: str) -> str:
    return "" if language in NO_SPACES else " "


class ClauseTranslations(Protocol):
    def get(self, session_id: str, index: int, language: str, seq: int) -> str | None: ...

    def put(self, session_id: str, index: int, language: str, seq: int, text: str) -> str | None:
        """Keeps `text` unless one is kept already; returns the one kept before (None: ours)."""
        ...


class DynamoClauseTranslations:
    """In the idempotency table, beside the delivery ledger (same key and TTL attributes)."""

    def __init__(self, table: Any, clock: Callable[[], float] = time.time, keep_seconds: int = 3600) -> None:
        self._table = table
        self._clock = clock
        self._keep = keep_seconds

    @staticmethod
    def _key(session_id: str, index: int, language: str, seq: int) -> str:
        return f"clause#{session_id}#{index}#{language}#{seq}"

    def get(self, session_id: str, index: int, language: str, seq: int) -> str | None:
        item = self._table.get_item(
            Key={resources.IDEMPOTENCY_PARTITION_KEY: self._key(session_id, index, language, seq)},
            ConsistentRead=True,
        ).get("Item")
        return str(item["text"]) if item else None

    def put(self, session_id: str, index: int, language: str, seq: int, text: str) -> str | None:
        key = self._key(session_id, index, language, seq)
        try:
            self._table.put_item(
                Item={
                    resources.IDEMPOTENCY_PARTITION_KEY: key,
                    resources.IDEMPOTENCY_TTL_ATTRIBUTE: int(self._clock()) + self._keep,
                    "text": text,
                },
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": resources.IDEMPOTENCY_PARTITION_KEY},
            )
            return None
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return self.get(session_id, index, language, seq) or text


@dataclass
class ClauseReport:
    session_id: str
    index: int
    seq: int
    outcome: str = "posted"  # posted | no_listeners | empty
    languages: list[str] = field(default_factory=list)
    already_posted: list[str] = field(default_factory=list)
    failed_languages: list[str] = field(default_factory=list)
    translated_chars: int = 0
    messages_sent: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "clause",
            "sessionId": self.session_id,
            "index": self.index,
            "seq": self.seq,
            "outcome": self.outcome,
            "languages": self.languages,
            "alreadyPosted": self.already_posted,
            "failedLanguages": self.failed_languages,
            "translatedChars": self.translated_chars,
            "messagesSent": self.messages_sent,
        }


class ClauseTranslator:
    """One clause in one language: the kept translation, or a new one, kept."""

    def __init__(
        self, translator: Translator, store: ClauseTranslations, ledger: DeliveryLedger, retry: RetryPolicy
    ) -> None:
        self._translator = translator
        self._store = store
        self._ledger = ledger
        self._retry = retry

    def translate(
        self, unit: UtteranceUnit | ClauseUnit, seq: int, text: str, target: Language, deadline: Deadline
    ) -> tuple[str, bool, int]:
        """(translation, made now and kept by this call, characters sent to Translate)."""
        source = LANGUAGES[unit.source_language]
        if target.code == source.code:
            return text, True, 0
        kept = self._store.get(unit.session_id, unit.index, target.code, seq)
        if kept is not None:
            return kept, False, 0
        made = self._retry.call(lambda: self._translator.translate(text, source, target), deadline, None)
        earlier = self._store.put(unit.session_id, unit.index, target.code, seq, made)
        return (made, True, len(text)) if earlier is None else (earlier, False, len(text))

    def final(self, unit: UtteranceUnit, target: Language, deadline: Deadline) -> tuple[str, int]:
        """The utterance's translation: its shown clauses' translations, then the rest's.
        (translation, characters sent to Translate)."""
        source = LANGUAGES[unit.source_language]
        text = unit.text.strip()
        shown = " ".join(unit.provisional) if source.code not in NO_SPACES else "".join(unit.provisional)
        if not unit.provisional or not text.startswith(shown):
            if target.code == source.code:
                return text, 0
            made = self._retry.call(lambda: self._translator.translate(text, source, target), deadline, None)
            return made, len(text)
        parts, chars = [], 0
        for seq, clause in enumerate(unit.provisional):
            translated, ours, sent = self.translate(unit, seq, clause, target, deadline)
            if ours:  # its clause invocation has not run yet: when it does, it posts nothing
                self._ledger.claim(unit.session_id, unit.index, clause_slot(target.code, seq))
            parts.append(translated)
            chars += sent
        rest = text[len(shown) :].strip()
        if rest:
            if target.code == source.code:
                parts.append(rest)
            else:
                parts.append(
                    self._retry.call(lambda: self._translator.translate(rest, source, target), deadline, None)
                )
                chars += len(rest)
        return joiner(target.code).join(part.strip() for part in parts if part.strip()), chars


class ProvisionalCaptions:
    """A clause from the worker -> a `provisionalCaption` per listener language, once."""

    def __init__(
        self,
        clauses: ClauseTranslator,
        listeners: ListenerDirectory,
        ledger: DeliveryLedger,
        sender: Sender,
        language_workers: int = 8,
    ) -> None:
        self._clauses = clauses
        self._ledger = ledger
        self._listeners = listeners
        self._sender = sender
        self._pool = ThreadPoolExecutor(max_workers=language_workers)

    def process(self, unit: ClauseUnit, deadline: Deadline) -> ClauseReport:
        report = ClauseReport(unit.session_id, unit.index, unit.seq)
        if not unit.text.strip():
            report.outcome = "empty"
            return report
        audience: dict[str, list[str]] = defaultdict(list)
        for connection_id, language in self._listeners.listeners(unit.session_id):
            if language in LANGUAGES:
                audience[language].append(connection_id)
        if not audience:
            report.outcome = "no_listeners"
            return report
        report.languages = sorted(audience)
        futures = {
            code: self._pool.submit(self._language, unit, LANGUAGES[code], listeners, deadline)
            for code, listeners in audience.items()
        }
        for code, future in futures.items():
            try:
                posted, chars, sent = future.result()
            except Exception:
                logger.exception("no provisional caption for this language", extra={"language": code})
                report.failed_languages.append(code)
                continue
            report.translated_chars += chars
            report.messages_sent += sent
            if not posted:
                report.already_posted.append(code)
        return report

    def _language(
        self, unit: ClauseUnit, target: Language, listeners: list[str], deadline: Deadline
    ) -> tuple[bool, int, int]:
        text, _, chars = self._clauses.translate(unit, unit.seq, unit.text, target, deadline)
        slot = clause_slot(target.code, unit.seq)
        if not text.strip() or not self._ledger.claim(unit.session_id, unit.index, slot):
            return False, chars, 0  # posted by an earlier invocation: never twice
        message = protocol.provisional_caption(
            unit.session_id,
            protocol.Provisional(
                language=target.code,
                index=unit.index,
                seq=unit.seq,
                text=text.strip(),
                source_text=unit.text,
                start_ms=unit.start_ms,
                duration_ms=unit.duration_ms,
            ),
        )
        gone = self._sender.send_many([(connection_id, message) for connection_id in listeners])
        return True, chars, len(listeners) - len(gone)
