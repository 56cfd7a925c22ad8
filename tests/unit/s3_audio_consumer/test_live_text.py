"""Live text in the worker (docs/ARCHITECTURE.md §15): the running utterance, from a
Transcribe stream's partial results with stability (the SDK's own event objects, converted
as the adapter converts them), shown to the speaker (rate-limited partial transcripts) and,
clause by stable clause, to listeners; the emitted utterance names the clauses shown."""

from __future__ import annotations

from aws_sdk_transcribe_streaming.models import Alternative, Item, Result

from s3_audio_consumer.live_text import LiveSettings, LiveText
from s3_audio_consumer.utterances import StreamResult, UtteranceCutter, from_sdk_result
from shared.audio_unit import ClauseUnit

SESSION = "swift-falcon-0042"
SPEAKER = "speaker-conn"
WORDS = "Today I want to tell you how we made it fast , how we made it reliable , and what we learned ."


def sdk_result(stable: int, count: int, partial: bool = True, words: str = WORDS) -> StreamResult:
    """The first `count` items of `words` (0.3 s a word), the first `stable` marked stable."""
    items, at = [], 0.0
    for n, content in enumerate(words.split()[:count]):
        mark = not content[0].isalnum()
        start, end = (at, at) if mark else (at, at + 0.3)
        items.append(
            Item(
                start_time=start,
                end_time=end,
                type="punctuation" if mark else "pronunciation",
                content=content,
                stable=n < stable if partial else None,
            )
        )
        at = end
    transcript = " ".join(str(item.content) for item in items).replace(" ,", ",").replace(" .", ".")
    return from_sdk_result(
        Result(
            result_id="r1",
            start_time=0.0,
            end_time=at,
            is_partial=partial,
            alternatives=[Alternative(transcript=transcript, items=items, entities=[])],
        )
    )


class Sink:
    def __init__(self) -> None:
        self.partials: list[dict] = []
        self.clauses: list[ClauseUnit] = []

    def partial(self, speaker_connection_id: str, message: dict) -> None:
        assert speaker_connection_id == SPEAKER
        self.partials.append(message)

    def clause(self, clause: ClauseUnit) -> None:
        self.clauses.append(clause)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(results: list[StreamResult], early_cuts: bool = False, step_s: float = 0.3):
    sink, clock = Sink(), Clock()
    live = LiveText(sink, clock, LiveSettings(partial_interval_s=0.7))
    cutter = UtteranceCutter(early_cuts=early_cuts)
    emitted = []
    for result in results:
        emitted += [live.settle(u) for u in cutter.feed(result)]
        live.observe(SESSION, "en", SPEAKER, cutter.running())
        clock.now += step_s
    return sink, emitted


def growing(total: int = 22) -> list[StreamResult]:
    """Partials one item longer each time, stable two items behind; then the final."""
    return [sdk_result(max(0, n - 2), n) for n in range(1, total + 1)] + [sdk_result(total, total, False)]


def test_each_stable_clause_goes_to_listeners_once_in_order_and_the_final_names_them():
    sink, emitted = run(growing())
    assert [(c.index, c.seq, c.text) for c in sink.clauses] == [
        (0, 0, "Today I want to tell you how we made it fast,"),
        (0, 1, "how we made it reliable,"),
    ]
    (utterance,) = emitted
    assert utterance.text.startswith(" ".join(utterance.provisional))
    assert utterance.provisional == (
        "Today I want to tell you how we made it fast,",
        "how we made it reliable,",
    )
    first = sink.clauses[0]
    assert (first.start_ms, first.duration_ms) == (0, 3300)  # eleven words of 0.3 s, on the talk timeline


def test_a_clause_end_not_yet_stable_is_not_shown():
    results = [sdk_result(stable=10, count=n) for n in range(11, 14)]  # "fast" stable, its comma not
    sink, _ = run(results)
    assert sink.clauses == []


def test_a_short_clause_waits_for_the_next_one():
    words = "So , today we start right here , thanks ."
    results = [sdk_result(max(0, n - 1), n, words=words) for n in range(1, 11)]
    sink, _ = run(results)
    assert [c.text for c in sink.clauses] == ["So, today we start right here,"]


def test_the_speaker_gets_the_stable_words_at_most_every_interval_and_only_when_they_change():
    sink, _ = run(growing(), step_s=0.3)
    texts = [m["text"] for m in sink.partials]
    assert len(texts) == len(set(texts))  # never the same stable text twice
    assert all(texts[n + 1].startswith(texts[n]) for n in range(len(texts) - 1))  # stable words only grow
    assert len(sink.partials) <= 23 * 0.3 / 0.7 + 1
    last = sink.partials[-1]
    assert (last["type"], last["index"]) == ("partialTranscript", 0)
    assert last["unstableText"] and not last["text"].endswith(last["unstableText"])


def test_an_utterance_that_does_not_start_with_its_shown_clauses_names_none():
    other = "Today I want to tell them how we made it quick , and that is all ."
    results = [*growing(14)[:-1], sdk_result(16, 16, partial=False, words=other)]
    sink, emitted = run(results)
    assert [c.text for c in sink.clauses] == ["Today I want to tell you how we made it fast,"]
    assert emitted[0].provisional == ()


def test_with_early_cuts_a_clause_too_short_to_cut_is_shown_and_the_cut_reuses_it():
    """Transcribe's path: the cutter emits a stable clause at once only once the piece has
    run MIN_CLAUSE_MS (4 s; shorter pieces translate worse, ARCHITECTURE §16). A stable
    clause before that (3.3 s here) is shown as a provisional caption, and the utterance
    cut after the next clause names it, so its translation is reused."""
    sink, emitted = run(growing(), early_cuts=True)
    assert [u.text for u in emitted] == [
        "Today I want to tell you how we made it fast, how we made it reliable,",
        "and what we learned",
    ]
    assert [(c.index, c.seq, c.text) for c in sink.clauses] == [
        (0, 0, "Today I want to tell you how we made it fast,")
    ]
    assert [u.provisional for u in emitted] == [("Today I want to tell you how we made it fast,",), ()]
    assert {m["index"] for m in sink.partials} <= {0, 1}
