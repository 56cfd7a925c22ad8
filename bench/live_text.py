"""Word to caption: for each word of the talk, when its first caption (provisional or final)
reached the listener, minus when the word was spoken (docs/ARCHITECTURE.md §15).

Word times are the recognizer's, as the messages carry them: an utterance's words spread
over its `startMs`/`durationMs` (the offline recognizer spreads Whisper's words evenly over
its piece; Transcribe's own item times would be finer). A provisional clause covers the
first words of its utterance not covered by the clauses before it (`seq` order): it is the
utterance's stable prefix. A word is spoken when its audio was sent, i.e. when the chunk
holding its end left the speaker (`spoken_at(ms)`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any


def word_to_caption_ms(
    messages: Sequence[tuple[dict[str, Any], float]], spoken_at: Callable[[float], float]
) -> list[float]:
    """`messages`: (message, arrival in seconds) at one listener, in any order; returns one
    latency in ms per word of every utterance whose final caption arrived."""
    return [lag_ms for _, lag_ms in word_lags(messages, spoken_at)]


def word_lags(
    messages: Sequence[tuple[dict[str, Any], float]], spoken_at: Callable[[float], float]
) -> list[tuple[float, float]]:
    """(the word's end in the talk, ms; its latency, ms) per word, in talk order: the lag
    over the talk that docs/BENCHMARKS.md plots."""
    finals: dict[int, tuple[dict[str, Any], float]] = {}
    clauses: dict[int, dict[int, tuple[dict[str, Any], float]]] = defaultdict(dict)
    for message, arrived in messages:
        kind, index = message.get("type"), message.get("index")
        if kind in ("translatedText", "translatedAudio") and isinstance(index, int):
            if index not in finals or arrived < finals[index][1]:
                finals[index] = (message, arrived)
        elif kind == "provisionalCaption" and isinstance(index, int):
            clauses[index].setdefault(int(message["seq"]), (message, arrived))
    latencies: list[tuple[float, float]] = []
    for index, (final, final_at) in sorted(finals.items()):
        words = final["sourceText"].split()
        if not words:
            continue
        first_at = [final_at] * len(words)
        position = 0
        for _, (clause, clause_at) in sorted(clauses[index].items()):
            count = len(clause["sourceText"].split())
            for n in range(position, min(position + count, len(words))):
                first_at[n] = min(first_at[n], clause_at)
            position += count
        step = final["durationMs"] / len(words)
        for n, arrived in enumerate(first_at):
            word_end_ms = final["startMs"] + (n + 1) * step
            latencies.append((word_end_ms, (arrived - spoken_at(word_end_ms)) * 1000))
    return latencies


def translated_chars(messages: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """(characters sent to Translate, characters of the talk) for one listener language, by
    the processor's rule: each clause shown is translated once; a caption that starts with
    its clauses' translations reused them and translated the rest of its source; one that
    does not was translated whole. The difference is what live text costs in Translate."""
    clauses: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    finals: dict[int, dict[str, Any]] = {}
    for message in messages:
        kind, index = message.get("type"), message.get("index")
        if kind == "provisionalCaption" and isinstance(index, int):
            clauses[index].setdefault(int(message["seq"]), message)
        elif kind == "translatedText" and isinstance(index, int):
            finals.setdefault(index, message)
    sent = talk = 0
    for index, final in finals.items():
        source = final["sourceText"].strip()
        talk += len(source)
        shown = [clauses[index][seq] for seq in sorted(clauses[index])]
        sent += sum(len(c["sourceText"]) for c in shown)
        reused = " ".join(c["sourceText"] for c in shown)
        if shown and source.startswith(reused) and final["text"].startswith(shown[0]["text"]):
            sent += len(source[len(reused) :].strip())
        else:
            sent += len(source)
    # Clauses of an utterance whose caption never came were translated too.
    sent += sum(
        len(c["sourceText"])
        for index, by_seq in clauses.items()
        if index not in finals
        for c in by_seq.values()
    )
    return sent, talk
