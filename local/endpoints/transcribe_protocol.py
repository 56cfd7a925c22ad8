"""Amazon Transcribe's StartStreamTranscription as it looks on the wire, without I/O:
the request headers the service accepts and the errors it answers otherwise, its
response headers, and the result JSON it streams back, partial-results stabilization
included. The server around it is local/endpoints/transcribe_streaming.py.

Sources: the service model as shipped in aws-sdk-transcribe-streaming 0.12.0 (language
codes, encodings, stability levels), the StartStreamTranscription API reference (sample
rates 8,000-48,000 Hz, session id a UUID), the SDKs' serializers and parsers (header
names, JSON keys: amazon-transcribe 0.6.4's first, aws-sdk-transcribe-streaming's now).
Error *messages* the service does not document are written in its validation style and
marked `estimate`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

# The service model's LanguageCode enum (aws-sdk-transcribe-streaming 0.12.0).
LANGUAGE_CODES = frozenset(
    """en-US en-GB es-US fr-CA fr-FR en-AU it-IT de-DE pt-BR ja-JP ko-KR zh-CN th-TH es-ES ar-SA pt-PT
    ca-ES ar-AE hi-IN zh-HK nl-NL no-NO sv-SE pl-PL fi-FI zh-TW en-IN en-IE en-NZ en-AB en-ZA en-WL
    de-CH af-ZA eu-ES hr-HR cs-CZ da-DK fa-IR gl-ES el-GR he-IL id-ID lv-LV ms-MY ro-RO ru-RU sr-RS
    sk-SK so-SO tl-PH uk-UA vi-VN zu-ZA am-ET be-BY bg-BG bn-IN bs-BA ckb-IQ ckb-IR cy-WL es-MX et-ET
    fa-AF gu-IN ht-HT hu-HU hy-AM is-IS jv-ID ka-GE kab-DZ kk-KZ km-KH kn-IN lg-IN lt-LT mk-MK ml-IN
    mr-IN my-MM ne-NP or-IN pa-IN ps-AF si-LK sl-SI sq-AL su-ID sw-BI sw-KE sw-RW sw-TZ sw-UG ta-IN
    te-IN tr-TR uz-UZ""".split()  # noqa: SIM905
)
MEDIA_ENCODINGS = ("pcm", "ogg-opus", "flac")  # what StartStreamTranscription takes
STABILITIES = ("low", "medium", "high")
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 48000
PREFIX = "x-amzn-transcribe-"
_UUID = "[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}"
_SESSION_ID = re.compile(f"^{_UUID}$")
_ENUM = "Member must satisfy enum value set: {}"
EVENT_STREAM = "application/vnd.amazon.eventstream"


class Refused(Exception):
    """A request the service answers with an error before any stream: HTTP status,
    `x-amzn-errortype` and a JSON `Message`."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def bad_request(message: str) -> Refused:
    return Refused(400, "BadRequestException", message)


def _invalid(value: object, member: str, constraint: str) -> Refused:
    # estimate: the message style of AWS's validation errors.
    shown = "null" if value is None else f"'{value}'"
    return bad_request(
        f"1 validation error detected: Value {shown} at '{member}' failed to satisfy constraint: {constraint}"
    )


@dataclass(frozen=True)
class StreamRequest:
    language_code: str
    sample_rate: int
    media_encoding: str
    session_id: str
    stability: str | None  # None: partial-results stabilization is off

    def response_headers(self, request_id: str) -> list[tuple[str, str]]:
        """What the service echoes, under the names the SDKs' parsers read."""
        headers = [
            (":status", "200"),
            ("content-type", EVENT_STREAM),
            ("x-amzn-request-id", request_id),
            (PREFIX + "session-id", self.session_id),
            (PREFIX + "language-code", self.language_code),
            (PREFIX + "sample-rate", str(self.sample_rate)),
            (PREFIX + "media-encoding", self.media_encoding),
        ]
        if self.stability is not None:
            headers += [
                (PREFIX + "enable-partial-results-stabilization", "true"),
                (PREFIX + "partial-results-stability", self.stability),
            ]
        return headers


def parse_request(headers: Mapping[str, str]) -> StreamRequest:
    """The stream a StartStreamTranscription request asks for (lower-case header
    names); raises Refused like the service."""
    language = headers.get(PREFIX + "language-code")
    if language is None:
        raise _invalid(None, "languageCode", "Member must not be null")
    if language not in LANGUAGE_CODES:
        raise _invalid(language, "languageCode", _ENUM.format("[" + ", ".join(sorted(LANGUAGE_CODES)) + "]"))
    encoding = headers.get(PREFIX + "media-encoding")
    if encoding not in MEDIA_ENCODINGS:
        raise _invalid(encoding, "mediaEncoding", _ENUM.format(list(MEDIA_ENCODINGS)))
    sample_rate = _sample_rate(headers.get(PREFIX + "sample-rate"))
    session_id = headers.get(PREFIX + "session-id") or str(uuid.uuid4())
    if not _SESSION_ID.match(session_id):
        raise _invalid(session_id, "sessionId", f"Member must satisfy regular expression pattern: {_UUID}")
    return StreamRequest(language, sample_rate, encoding, session_id, _stability(headers))


def _sample_rate(raw: str | None) -> int:
    constraint = f"Member must have value between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE}"
    if raw is None:
        raise _invalid(None, "mediaSampleRateHertz", "Member must not be null")
    try:
        rate = int(raw)
    except ValueError:
        raise _invalid(raw, "mediaSampleRateHertz", "Member must be an integer") from None
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise _invalid(raw, "mediaSampleRateHertz", constraint)
    return rate


def _boolean(headers: Mapping[str, str], name: str) -> bool:
    raw = headers.get(PREFIX + name)
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):  # the old amazon-transcribe sent Python's "True"
        raise _invalid(raw, name, "Member must be a boolean")
    return raw.lower() == "true"


def _stability(headers: Mapping[str, str]) -> str | None:
    enabled = _boolean(headers, "enable-partial-results-stabilization")
    level = headers.get(PREFIX + "partial-results-stability")
    if level is not None and level not in STABILITIES:
        raise _invalid(level, "partialResultsStability", _ENUM.format(list(STABILITIES)))
    if not enabled:
        return None  # a level without stabilization changes nothing
    return level or "high"  # the service's default level


# --- results --------------------------------------------------------------------------

# Punctuation the recognizer writes onto words; the service sends each mark as an item.
_CLOSING = '.,!?;:…"»)]}。、' + "\uff0c\uff01\uff1f"  # the full-width ",", "!" and "?"
_OPENING = '¿¡"«([{'
# How many consecutive hypotheses must agree on a word before it is marked stable. The
# service says only that "high" stabilizes soonest and may cost some accuracy; these
# counts are the local endpoint's own choice.
AGREEMENT = {"high": 2, "medium": 3, "low": 4}


@dataclass(frozen=True)
class Token:
    content: str
    punctuation: bool

    @property
    def key(self) -> str:
        return self.content.lower()


def tokens(text: str) -> list[Token]:
    """The items of a recognized text: words, and each punctuation mark on its own.
    Ellipses are dropped: the recognizer writes them where the audio was cut, which is
    not a clause end."""
    out: list[Token] = []
    for chunk in text.split():
        head = ""
        while chunk and chunk[0] in _OPENING:
            head, chunk = head + chunk[0], chunk[1:]
        tail = ""
        while chunk and chunk[-1] in _CLOSING:
            chunk, tail = chunk[:-1], chunk[-1] + tail
        mark = tail.replace("...", "").replace("…", "")
        parts = ((head, True), (chunk, False), (mark, True))
        out += [Token(content, punctuation) for content, punctuation in parts if content]
    return out


@dataclass(frozen=True)
class TimedItem:
    token: Token
    start_s: float
    end_s: float


def spread(toks: Sequence[Token], start_s: float, end_s: float) -> list[TimedItem]:
    """Times for items the recognizer gave no times: the words share the span evenly,
    a mark sits at the end of the word before it."""
    words = sum(1 for t in toks if not t.punctuation)
    step = max(end_s - start_s, 0.0) / max(words, 1)
    items: list[TimedItem] = []
    at = start_s
    for token in toks:
        if token.punctuation:
            items.append(TimedItem(token, at, at))
        else:
            items.append(TimedItem(token, at, at + step))
            at += step
    return items


def transcript(items: Sequence[TimedItem]) -> str:
    """The result's text: words separated by spaces, marks attached to their word."""
    text = ""
    for item in items:
        content = item.token.content
        if item.token.punctuation and content[0] not in _OPENING:
            text += content
        elif text and not text.endswith(tuple(_OPENING)):
            text += " " + content
        else:
            text += content
    return text


def _tail_after(frozen: Sequence[Token], toks: Sequence[Token]) -> list[Token]:
    """The part of a new hypothesis after the stable words already sent, which never
    change: what follows the last word that matches them (plus as many words as
    there are stable words after that match); with no match, what follows as many
    words as there are stable ones."""
    if not frozen:
        return list(toks)
    keys = [t.key for t in toks]
    matcher = SequenceMatcher(None, [t.key for t in frozen], keys, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return list(toks[len(frozen) :])
    last = blocks[-1]
    # Stable words after the last match were recognized differently: as many words stand for them.
    unmatched = len(frozen) - (last.a + last.size)
    return list(toks[last.b + last.size + unmatched :])


def _agreed(history: Sequence[Sequence[Token]]) -> int:
    """How many leading tokens all the hypotheses share."""
    count = 0
    for column in zip(*history, strict=False):
        if len({t.key for t in column}) != 1:
            break
        count += 1
    return count


def _item_json(item: TimedItem, stable: bool | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Content": item.token.content,
        "StartTime": round(item.start_s, 3),
        "EndTime": round(item.end_s, 3),
        "Type": "punctuation" if item.token.punctuation else "pronunciation",
        "VocabularyFilterMatch": False,
    }
    if stable is not None:
        body["Stable"] = stable
    return body


@dataclass
class ResultTrack:
    """One result: the partials of one stretch of speech, then its final, all under one
    ResultId. With stabilization, a word stays as it was sent once marked stable."""

    start_s: float
    stability: str | None
    result_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _frozen: list[TimedItem] = field(default_factory=list)
    _history: list[list[Token]] = field(default_factory=list)

    @property
    def stable_until_s(self) -> float:
        """End of the last word marked stable (the result's start before any)."""
        return self._frozen[-1].end_s if self._frozen else self.start_s

    def partial(self, text: str, end_s: float) -> dict[str, Any]:
        items = self._items(text, end_s)
        if self.stability is None:
            return self._result(items, end_s, partial=True, stable_count=None)
        self._history = [*self._history, [i.token for i in items]][-AGREEMENT[self.stability] :]
        agreed = _agreed(self._history) if len(self._history) == AGREEMENT[self.stability] else 0
        # The last word (and the marks after it) may still grow or change: never stable.
        last_word = max((n for n, i in enumerate(items) if not i.token.punctuation), default=0)
        stable = max(len(self._frozen), min(agreed, last_word))
        self._frozen = items[:stable]
        return self._result(items, end_s, partial=True, stable_count=stable)

    def final(self, text: str, end_s: float) -> dict[str, Any]:
        items = self._items(text, end_s)
        stable = len(items) if self.stability is not None else None
        return self._result(items, end_s, partial=False, stable_count=stable)

    def _items(self, text: str, end_s: float) -> list[TimedItem]:
        frozen = [i.token for i in self._frozen]
        tail = _tail_after(frozen, tokens(text))
        tail_start = self._frozen[-1].end_s if self._frozen else self.start_s
        return [*self._frozen, *spread(tail, tail_start, max(end_s, tail_start))]

    def _result(
        self, items: list[TimedItem], end_s: float, partial: bool, stable_count: int | None
    ) -> dict[str, Any]:
        def stable(n: int) -> bool | None:
            return None if stable_count is None else n < stable_count

        return {
            "ResultId": self.result_id,
            "StartTime": round(self.start_s, 3),
            "EndTime": round(max(end_s, self.start_s), 3),
            "IsPartial": partial,
            "Alternatives": [
                {
                    "Transcript": transcript(items),
                    "Items": [_item_json(item, stable(n)) for n, item in enumerate(items)],
                }
            ],
        }


def transcript_event(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"Transcript": {"Results": list(results)}}
