"""Cut one Amazon Transcribe stream's results into utterances: the unit that is
translated and spoken.

An utterance is a piece of finished speech. Transcribe ends a result at a pause, so a
final result is one. A speaker who runs on without pausing would hold a result open
for a long time, so with partial-result stabilization the stable head of a partial is
cut early at a clause end (or, failing that, at its last stable word) and no utterance
waits much longer than `max_utterance_ms`.

A stream's timestamps restart at 0 on every new stream (a handover to a successor
worker before Lambda's time limit), so each cutter places its stream on the talk's
timeline with the stream's offset, continues the predecessor's indexes, and drops
the words of the audio overlap that the predecessor already emitted.

Pure domain logic: no AWS calls; `from_sdk_result` only reads attributes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Punctuation that ends a clause: a place where a sentence can be cut and still
# translate well. Latin, CJK (the full-width "!", "?" and "," written as escapes) and
# Devanagari (danda).
CLAUSE_ENDS = frozenset(",.!?;:。、।" + "\uff01\uff1f\uff0c")
# A running sentence is cut at a stable clause end once it is this long (shorter pieces
# translate worse: bench/cutting.py, docs/ARCHITECTURE.md §16). Once it would pass the
# longest utterance, it is cut at its last stable clause end of at least SHORTEST_CLAUSE_MS
# (not a lone "So,") or, with none, at its last stable word.
MIN_CLAUSE_MS = 4000
SHORTEST_CLAUSE_MS = 1500
MAX_UTTERANCE_MS = 6000
# Punctuation that opens the next word (Spanish) and so attaches to it, not to the previous one.
OPENING_PUNCTUATION = frozenset("¿¡")


@dataclass(frozen=True)
class Word:
    """One item of a result, in seconds of its stream. Punctuation is an item too."""

    content: str
    start_s: float
    end_s: float
    stable: bool
    punctuation: bool


@dataclass(frozen=True)
class StreamResult:
    """A Transcribe result, as the adapter hands it over (see `from_sdk_result`)."""

    result_id: str
    is_partial: bool
    start_s: float
    end_s: float
    words: tuple[Word, ...]
    text: str


@dataclass(frozen=True)
class Utterance:
    """Finished speech on the talk's timeline: what gets translated and spoken."""

    index: int
    start_ms: int
    duration_ms: int
    text: str
    # Its stable clauses that listeners were shown as provisional captions (live_text.py).
    provisional: tuple[str, ...] = ()

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


# --- conversion from the SDK ------------------------------------------------------------


def from_sdk_result(result: Any) -> StreamResult:
    """Convert an `aws_sdk_transcribe_streaming.models.Result` (or anything shaped like
    one), reading attributes only."""
    is_partial = bool(getattr(result, "is_partial", False))
    start_s = _seconds(getattr(result, "start_time", None), 0.0)
    alternatives = getattr(result, "alternatives", None) or []
    best = alternatives[0] if alternatives else None
    items = (getattr(best, "items", None) or []) if best is not None else []
    words = _sdk_words(items, start_s, is_partial)
    last_end = words[-1].end_s if words else start_s
    return StreamResult(
        result_id=str(getattr(result, "result_id", None) or ""),
        is_partial=is_partial,
        start_s=start_s,
        end_s=_seconds(getattr(result, "end_time", None), last_end),
        words=words,
        text=str((getattr(best, "transcript", None) or "") if best is not None else ""),
    )


def _sdk_words(items: Iterable[Any], start_s: float, is_partial: bool) -> tuple[Word, ...]:
    words: list[Word] = []
    previous_end = start_s
    for item in items:
        content = str(getattr(item, "content", None) or "").strip()
        if not content:
            continue
        punctuation = _is_punctuation(item, content)
        start = _seconds(getattr(item, "start_time", None), previous_end)
        if punctuation:
            # A mark sits at the previous word's end; one that came without times has
            # 0.0 from the SDK (its default), which would put it at the stream's start.
            start = max(start, previous_end)
        end = max(start, _seconds(getattr(item, "end_time", None), start))
        # A final's words are settled even when stabilization is off (stable is then None).
        stable = not is_partial or bool(getattr(item, "stable", False))
        words.append(Word(content, start, end, stable, punctuation))
        previous_end = end
    return tuple(words)


def _is_punctuation(item: Any, content: str) -> bool:
    kind = getattr(item, "type", None)
    kind = getattr(kind, "value", kind)  # the SDK's ItemType enum or its string
    if kind:
        return str(kind).lower() == "punctuation"
    return not any(char.isalnum() for char in content)


def _seconds(value: Any, default: float) -> float:
    return default if value is None else float(value)


# --- text ---------------------------------------------------------------------------------


def join_words(words: Sequence[Word], separator: str = " ") -> str:
    """Words joined by `separator`, punctuation attached to its word: "Hello , world ."
    becomes "Hello, world.". A leading closing mark (left over from a cut) is dropped."""
    parts: list[str] = []
    opening = ""
    for word in words:
        if word.punctuation and word.content[0] in OPENING_PUNCTUATION:
            opening += word.content
        elif word.punctuation:
            if parts:
                parts[-1] += word.content
        else:
            parts.append(opening + word.content)
            opening = ""
    return separator.join(parts)


def _separator(result: StreamResult) -> str:
    """Languages written without spaces (Japanese, Chinese) come with a transcript
    without spaces between several words; keep them written that way."""
    spoken = sum(1 for word in result.words if not word.punctuation)
    if spoken >= 2 and result.text.strip() and not any(char.isspace() for char in result.text.strip()):
        return ""
    return " "


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


# --- cutting ------------------------------------------------------------------------------

Entry = tuple[int, Word]  # a word and its position in its result


def _spoken(entries: Iterable[Entry]) -> list[Word]:
    return [word for _, word in entries if not word.punctuation]


def _stable_head(entries: Sequence[Entry]) -> list[Entry]:
    """The leading run of stable words: Transcribe only ever stabilises a prefix, and
    only stable words are settled enough to be cut early."""
    head: list[Entry] = []
    for entry in entries:
        if not entry[1].stable:
            break
        head.append(entry)
    return head


def _clause_cut(stable: Sequence[Entry], first_ms: int, min_ms: int, max_ms: int) -> int | None:
    """The end (exclusive position) of the longest stable clause that is at least
    `min_ms` long, so that a short "So," is not translated on its own, and at most
    `max_ms`."""
    cut = None
    for position, word in stable:
        ends_clause = word.punctuation and word.content[-1] in CLAUSE_ENDS
        if ends_clause and min_ms <= _ms(word.end_s) - first_ms <= max_ms:
            cut = position + 1
    return cut


def _forced_cut(stable: Sequence[Entry], first_ms: int, max_ms: int) -> int | None:
    """No clause end in time: cut at the last stable word that keeps the utterance
    within `max_ms`; a lone word is not worth a cut (wait for its neighbours), but a
    single word longer than `max_ms` goes out on its own."""
    spoken = [entry for entry in stable if not entry[1].punctuation]
    if len(spoken) < 2:
        return None
    cut = spoken[0][0] + 1
    for position, word in stable:
        if position >= cut and _ms(word.end_s) - first_ms <= max_ms:
            cut = position + 1
    return cut


@dataclass(frozen=True)
class Running:
    """The utterance being spoken: the words of the open partial not emitted yet, the
    first `stable` of them stable (Transcribe only stabilises a prefix). It becomes
    utterance `index` (or, cut early, starts it)."""

    index: int
    words: tuple[Word, ...]
    stable: int
    separator: str
    offset_ms: int  # talk time of the stream's 0

    def text(self, start: int = 0, end: int | None = None) -> str:
        return join_words(self.words[start:end], self.separator).strip()

    def span_ms(self, start: int, end: int) -> tuple[int, int]:
        """Talk time of the spoken words in `words[start:end]`: start and duration."""
        piece = self.words[start:end]
        spoken = [word for word in piece if not word.punctuation] or list(piece)
        first, last = _ms(spoken[0].start_s), max(_ms(word.end_s) for word in spoken)
        return self.offset_ms + first, max(1, last - first)


@dataclass
class _Open:
    """A result id whose final has not come yet."""

    latest: StreamResult
    emitted: int = 0  # its first `emitted` words are out; later ones continue after them


class UtteranceCutter:
    """Turns one stream's results into utterances (see the module's docstring).

    `first_index`: the index of the first utterance (a successor's is its predecessor's
    `next_index`). `stream_offset_ms`: talk time of the stream's first sample.
    `skip_until_ms`: talk time up to which speech was already emitted by a predecessor;
    words ending at or before it are dropped."""

    def __init__(
        self,
        first_index: int = 0,
        stream_offset_ms: int = 0,
        max_utterance_ms: int = MAX_UTTERANCE_MS,
        min_clause_ms: int = MIN_CLAUSE_MS,
        skip_until_ms: int = 0,
        early_cuts: bool = True,
    ) -> None:
        if first_index < 0 or stream_offset_ms < 0:
            raise ValueError("first_index and stream_offset_ms cannot be negative")
        if not 0 <= min_clause_ms <= max_utterance_ms or max_utterance_ms <= 0:
            raise ValueError("need 0 <= min_clause_ms <= max_utterance_ms and max_utterance_ms > 0")
        self._next_index = first_index
        self._offset_ms = stream_offset_ms
        self._max_ms = max_utterance_ms
        self._min_clause_ms = min_clause_ms
        self._emitted_until_ms = skip_until_ms
        # False: partials are only watched (`running`), never cut; for a recognizer that
        # ends its results at short pieces itself (the offline one: at most 7 s).
        self._early_cuts = early_cuts
        self._open: dict[str, _Open] = {}

    @property
    def next_index(self) -> int:
        """The index the next utterance gets; a successor's cutter starts here."""
        return self._next_index

    @property
    def emitted_until_ms(self) -> int:
        """Talk time up to which speech has been emitted (at least `skip_until_ms`)."""
        return self._emitted_until_ms

    def feed(self, result: StreamResult) -> list[Utterance]:
        if not result.is_partial:
            return self._finish(result)
        progress = self._open.setdefault(result.result_id, _Open(result))
        progress.latest = result
        utterances: list[Utterance] = []
        if not self._early_cuts:
            return utterances
        # A partial may have grown a lot since the last one: cut as often as it allows.
        while (cut := self._cut_point(result, progress.emitted)) is not None:
            utterances.extend(self._emit(result, progress, cut))
        return utterances

    def running(self) -> Running | None:
        """The words of the open partial not emitted yet; None when there are none, or
        when two results are open at once (which would become which index is unsure)."""
        pending = [
            (progress, entries)
            for progress in self._open.values()
            if (entries := self._pending(progress.latest, progress.emitted))
        ]
        if len(pending) != 1:
            return None
        progress, entries = pending[0]
        words = tuple(word for _, word in entries)
        stable = len(_stable_head(entries))
        return Running(self._next_index, words, stable, _separator(progress.latest), self._offset_ms)

    def flush(self) -> list[Utterance]:
        """End of the stream: what remains of each open partial, unstable words too."""
        utterances: list[Utterance] = []
        for progress in self._open.values():
            utterances.extend(self._emit(progress.latest, progress, len(progress.latest.words)))
        self._open.clear()
        return utterances

    def _finish(self, result: StreamResult) -> list[Utterance]:
        # A final settles its words: whatever an early cut left is one utterance.
        progress = self._open.pop(result.result_id, None) or _Open(result)
        return self._emit(result, progress, len(result.words))

    def _pending(self, result: StreamResult, emitted: int) -> list[Entry]:
        """Words not yet out: after the ones emitted from this result (by position), and
        mostly after everything emitted so far (their midpoint, by time), which drops the
        re-recognized overlap after a handover or a crash (a word straddling the point
        was emitted already) and the punctuation right after a forced cut."""
        return [
            (position, word)
            for position, word in enumerate(result.words)
            if position >= emitted and self._talk_ms((word.start_s + word.end_s) / 2) > self._emitted_until_ms
        ]

    def _cut_point(self, result: StreamResult, emitted: int) -> int | None:
        pending = self._pending(result, emitted)
        spoken = _spoken(pending)
        if not spoken:
            return None
        first_ms = _ms(spoken[0].start_s)
        stable = _stable_head(pending)
        clause = _clause_cut(stable, first_ms, self._min_clause_ms, self._max_ms)
        if clause is not None:
            return clause
        # Measured to the result's end as well: silence or noise after the words is waiting too.
        waited_ms = max(_ms(spoken[-1].end_s), _ms(result.end_s)) - first_ms
        if waited_ms > self._max_ms:
            shortest = min(self._min_clause_ms, SHORTEST_CLAUSE_MS)
            clause = _clause_cut(stable, first_ms, shortest, self._max_ms)
            return clause if clause is not None else _forced_cut(stable, first_ms, self._max_ms)
        return None

    def _emit(self, result: StreamResult, progress: _Open, cut: int) -> list[Utterance]:
        """The pending words before position `cut`, as an utterance (none if they are
        only punctuation or blank); positions up to `cut` count as emitted either way."""
        entries = [entry for entry in self._pending(result, progress.emitted) if entry[0] < cut]
        progress.emitted = max(progress.emitted, cut)
        words = [word for _, word in entries]
        spoken = _spoken(entries)
        text = join_words(words, _separator(result)).strip()
        if not spoken or not text:
            return []
        start_ms = _ms(spoken[0].start_s)
        end_ms = max(_ms(word.end_s) for word in spoken)
        utterance = Utterance(self._next_index, self._offset_ms + start_ms, max(1, end_ms - start_ms), text)
        self._next_index += 1
        self._emitted_until_ms = max(self._emitted_until_ms, self._offset_ms + end_ms)
        return [utterance]

    def _talk_ms(self, seconds: float) -> int:
        return self._offset_ms + _ms(seconds)
