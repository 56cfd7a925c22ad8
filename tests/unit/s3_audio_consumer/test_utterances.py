"""Cutting a Transcribe stream into utterances, fed real `aws_sdk_transcribe_streaming.models` objects."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from aws_sdk_transcribe_streaming.models import (
    Alternative,
    Item,
    ItemType,
    Result,
    Transcript,
    TranscriptEvent,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from s3_audio_consumer.utterances import (
    MAX_UTTERANCE_MS,
    StreamResult,
    Utterance,
    UtteranceCutter,
    Word,
    from_sdk_result,
    join_words,
)

WORD_S = 0.28  # each spoken word lasts this long ...
GAP_S = 0.05  # ... with this much silence before the next: 3 words a second


def item(start: float, end: float, kind: str | None, content: str, stable: bool | None = None) -> Item:
    return Item(start_time=start, end_time=end, type=kind, content=content, stable=stable)


def timed_items(text: str, start_s: float = 0.0, word_s: float = WORD_S, gap_s: float = GAP_S) -> list[Item]:
    """Items for `text` (punctuation as separate tokens), back to back from `start_s`;
    punctuation sits at its word's end, as Transcribe puts it."""
    items: list[Item] = []
    at, last_end = start_s, start_s
    for token in text.split():
        if any(c.isalnum() for c in token):
            items.append(item(round(at, 3), round(at + word_s, 3), "pronunciation", token))
            last_end = round(at + word_s, 3)
            at += word_s + gap_s
        else:
            items.append(item(last_end, last_end, "punctuation", token))
    return items


def sdk_result(result_id: str, items: list[Item], partial: bool, stable_count: int | None = None) -> Result:
    """A real SDK `Result`: the first `stable_count` items stable (all of them for a final)."""
    stable_count = len(items) if stable_count is None else stable_count
    flagged = [
        item(i.start_time, i.end_time, i.type, i.content, stable=(not partial) or n < stable_count)
        for n, i in enumerate(items)
    ]
    text = " ".join(str(i.content) for i in items)
    return Result(
        result_id=result_id,
        start_time=items[0].start_time if items else 0.0,
        end_time=items[-1].end_time if items else 0.0,
        is_partial=partial,
        alternatives=[Alternative(transcript=text, items=flagged)],
    )


def event(result: Result) -> TranscriptEvent:
    return TranscriptEvent(transcript=Transcript(results=[result]))


def feed(cutter: UtteranceCutter, transcript_event: TranscriptEvent) -> list[Utterance]:
    out: list[Utterance] = []
    assert transcript_event.transcript is not None
    for result in transcript_event.transcript.results or []:
        out.extend(cutter.feed(from_sdk_result(result)))
    return out


def growing_partials(result_id: str, items: list[Item], step_s: float = 0.3) -> Iterator[tuple[Result, int]]:
    """Partials as Transcribe sends them while the speaker talks: every `step_s` the words
    heard so far, all but the last 1-3 spoken words stable, stability never taken back.
    Yields each partial and how many of its items are stable."""
    unstable_spoken = itertools.cycle([1, 2, 3])
    stable_count, at = 0, step_s
    end = float(items[-1].end_time)
    while at < end + step_s:
        heard = [i for i in items if float(i.end_time) <= at]
        at += step_s
        if not heard:
            continue
        spoken_positions = [n for n, i in enumerate(heard) if i.type == "pronunciation"]
        k = min(next(unstable_spoken), len(spoken_positions))
        settled = spoken_positions[-k] if k else len(heard)
        stable_count = min(max(stable_count, settled), len(heard))
        yield sdk_result(result_id, heard, partial=True, stable_count=stable_count), stable_count


def spoken_words(utterances: list[Utterance]) -> list[str]:
    return [w.strip(",.?!;:") for u in utterances for w in u.text.split()]


# --- a final result -----------------------------------------------------------------------


def test_a_final_result_is_one_utterance_with_punctuation_attached():
    items = timed_items("Hello , world .", start_s=1.2)
    cutter = UtteranceCutter(first_index=4, stream_offset_ms=10_000)
    [utterance] = feed(cutter, event(sdk_result("r1", items, partial=False)))
    assert utterance == Utterance(index=4, start_ms=11_200, duration_ms=610, text="Hello, world.")
    assert utterance.end_ms == 11_810
    assert cutter.next_index == 5
    assert cutter.emitted_until_ms == 11_810


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_or_blank_finals_emit_nothing(text):
    result = Result(
        result_id="r",
        start_time=0.0,
        end_time=1.0,
        is_partial=False,
        alternatives=[Alternative(transcript=text, items=[])],
    )
    cutter = UtteranceCutter()
    assert feed(cutter, event(result)) == []
    assert feed(cutter, event(Result(result_id="s", is_partial=False, alternatives=[]))) == []
    assert cutter.next_index == 0


# --- early cuts of a long sentence ----------------------------------------------------------

LONG_SENTENCE = (
    "When we started this project three years ago , nobody believed that a small team could build it , "
    "but we kept going through every setback , and today we show you the result ."
)


def long_sentence_cut(cutter: UtteranceCutter) -> tuple[list[Utterance], list[Utterance]]:
    """LONG_SENTENCE through `cutter` as growing partials, then its final: what was cut
    early, and what the final emitted."""
    items = timed_items(LONG_SENTENCE)
    early: list[Utterance] = []
    for partial, _ in growing_partials("r1", items):
        early.extend(feed(cutter, event(partial)))
    return early, feed(cutter, event(sdk_result("r1", items, partial=False)))


def test_by_default_a_clause_is_cut_once_it_has_run_4_s_or_when_the_sentence_would_pass_6_s():
    """Pieces of at least MIN_CLAUSE_MS (4 s): shorter ones translate worse (bench/cutting.py).
    The first clause (2.6 s) goes out only when the sentence is about to pass 6 s: at its
    comma, not at its last stable word."""
    early, rest = long_sentence_cut(UtteranceCutter())
    assert [u.text for u in early] == [
        "When we started this project three years ago,",
        "nobody believed that a small team could build it, but we kept going through every setback,",
    ]
    assert [u.text for u in rest] == ["and today we show you the result."]
    assert all(u.duration_ms <= MAX_UTTERANCE_MS for u in early + rest)


def test_a_long_sentence_is_cut_early_at_commas_and_the_final_emits_only_the_rest():
    assert float(timed_items(LONG_SENTENCE)[-1].end_time) > 9.0  # 9 s of speech without a pause
    early, rest = long_sentence_cut(UtteranceCutter(min_clause_ms=1500))

    assert [u.text for u in early] == [
        "When we started this project three years ago,",
        "nobody believed that a small team could build it,",
        "but we kept going through every setback,",
    ]
    assert [u.text for u in rest] == ["and today we show you the result."]
    utterances = early + rest
    assert [u.index for u in utterances] == list(range(len(utterances)))
    assert all(u.duration_ms <= 6000 for u in utterances)
    assert " ".join(u.text for u in utterances) == LONG_SENTENCE.replace(" ,", ",").replace(" .", ".")
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(utterances))


def test_a_short_clause_is_not_cut_on_its_own():
    items = timed_items("So , what do we do now that the money is gone and the clock is ticking")
    cutter = UtteranceCutter(min_clause_ms=1500)
    partial = sdk_result("r1", items, partial=True, stable_count=len(items) - 2)
    assert feed(cutter, event(partial)) == []  # "So," is 0.3 s long, and 4.6 s is not too long yet


def test_an_unpunctuated_run_is_forced_out_at_its_last_stable_word_after_6_s():
    text = " ".join(f"word{n}" for n in range(30))  # 10 s, no punctuation, never final
    items = timed_items(text)
    cutter = UtteranceCutter()
    cuts: list[tuple[float, Utterance]] = []
    for partial, stable_count in growing_partials("r1", items):
        stable = {str(i.content) for i in items[:stable_count]}
        for utterance in feed(cutter, event(partial)):
            assert set(utterance.text.split()) <= stable  # never an unstable word
            cuts.append((float(partial.end_time), utterance))
    assert len(cuts) == 1, "a 10 s run is cut once, when it passes 6 s"
    heard_at, first = cuts[0]
    assert 6.0 < heard_at <= 6.6  # not before it is too long, and within a partial or two after
    assert first.duration_ms <= 6000 and first.start_ms == 0
    rest = cutter.flush()
    assert spoken_words([u for _, u in cuts] + rest) == text.split()


def test_a_revised_unstable_tail_never_emits_the_abandoned_word():
    words = " ".join(f"w{n}" for n in range(18)) + " the"
    before = timed_items(words + " e")  # "e": Transcribe's first guess, unstable
    after = timed_items(words + " evening .")  # then revised into "evening"
    cutter = UtteranceCutter()
    out = feed(cutter, event(sdk_result("r1", before, partial=True, stable_count=len(before) - 1)))
    assert [u.text for u in out] == [" ".join(f"w{n}" for n in range(18))]  # forced out at 6.55 s, not "e"
    out += feed(cutter, event(sdk_result("r1", after, partial=True, stable_count=len(after) - 2)))
    out += feed(cutter, event(sdk_result("r1", after, partial=False)))
    assert out[-1].text == "the evening."
    assert "e" not in spoken_words(out)
    assert spoken_words(out) == [*words.split(), "evening"]


# --- handover -----------------------------------------------------------------------------


def test_a_successor_stream_continues_indexes_on_the_talk_timeline_and_drops_the_overlap():
    a = UtteranceCutter(first_index=0, stream_offset_ms=0)
    out_a = feed(a, event(sdk_result("a1", timed_items("Thank you all for coming .", start_s=718.0), False)))
    out_a += feed(a, event(sdk_result("a2", timed_items("Let us begin .", start_s=719.9), False)))
    out_a += a.flush()
    assert [u.index for u in out_a] == [0, 1]
    assert a.emitted_until_ms == 720_840  # "begin" ends at 720.84 s

    # B's stream started at talk time 720.0 s, so its first 0.84 s were already emitted by A.
    b = UtteranceCutter(first_index=a.next_index, stream_offset_ms=720_000, skip_until_ms=a.emitted_until_ms)
    assert b.emitted_until_ms == a.emitted_until_ms
    overlap = [item(0.23, 0.51, "pronunciation", "us"), item(0.56, 0.84, "pronunciation", "begin")]
    overlap.append(item(0.84, 0.84, "punctuation", "."))
    items = overlap + timed_items("Our first speaker is Ana .", start_s=1.3)
    out_b = feed(b, event(sdk_result("b1", items, partial=True, stable_count=len(items) - 2)))
    out_b += feed(b, event(sdk_result("b1", items, partial=False)))
    expected = Utterance(index=2, start_ms=721_300, duration_ms=1_600, text="Our first speaker is Ana.")
    assert out_b == [expected]
    assert b.next_index == 3 and b.emitted_until_ms == 722_900


def test_a_successor_with_nothing_to_say_hands_the_same_skip_on():
    b = UtteranceCutter(first_index=7, stream_offset_ms=720_000, skip_until_ms=720_500)
    assert b.flush() == []
    assert (b.next_index, b.emitted_until_ms) == (7, 720_500)


# --- end of stream ------------------------------------------------------------------------


def test_flush_emits_the_rest_of_the_open_partial_unstable_words_too():
    items = timed_items("we will now take a short break and come back", start_s=3.0)
    cutter = UtteranceCutter(first_index=2, stream_offset_ms=1_000)
    assert feed(cutter, event(sdk_result("r9", items, partial=True, stable_count=6))) == []
    [utterance] = cutter.flush()
    assert utterance.text == "we will now take a short break and come back"
    assert (utterance.index, utterance.start_ms) == (2, 4_000)
    assert cutter.flush() == []
    assert cutter.next_index == 3


# --- conversion ---------------------------------------------------------------------------


def test_conversion_reads_the_sdk_result():
    items = timed_items("Hi , there .", start_s=0.5)
    converted = from_sdk_result(sdk_result("abc", items, partial=True, stable_count=2))
    assert converted == StreamResult(
        result_id="abc",
        is_partial=True,
        start_s=0.5,
        end_s=1.11,
        words=(
            Word("Hi", 0.5, 0.78, stable=True, punctuation=False),
            Word(",", 0.78, 0.78, stable=True, punctuation=True),
            Word("there", 0.83, 1.11, stable=False, punctuation=False),
            Word(".", 1.11, 1.11, stable=False, punctuation=True),
        ),
        text="Hi , there .",
    )


def test_conversion_reads_enum_types_and_marks_without_times():
    """The SDK may hand `type` as its ItemType enum, and an item the service sent
    without times or stability carries the SDK's defaults (0.0, None)."""
    real = Result(
        result_id="abc",
        is_partial=True,
        start_time=0.5,
        end_time=1.11,
        alternatives=[
            Alternative(
                transcript="Hi , there .",
                items=[
                    item(0.5, 0.78, "pronunciation", "Hi", True),
                    item(0.78, 0.78, ItemType.PUNCTUATION, ",", True),
                    item(0.83, 1.11, ItemType.PRONUNCIATION, "there", False),
                    Item(type="punctuation", content="."),  # no times, no stability
                ],
            )
        ],
    )
    items = timed_items("Hi , there .", start_s=0.5)
    assert from_sdk_result(real) == from_sdk_result(sdk_result("abc", items, partial=True, stable_count=2))
    # The type decides, not the look: "&" spoken as a word stays a word.
    ampersand = Result(
        result_id="amp",
        alternatives=[Alternative(transcript="&", items=[item(0.1, 0.3, ItemType.PRONUNCIATION, "&")])],
    )
    assert from_sdk_result(ampersand).words[0].punctuation is False


def test_words_are_joined_the_way_the_language_writes_them():
    def words(*tokens: str) -> list[Word]:
        return [Word(t, 0.0, 0.0, True, not t.isalnum()) for t in tokens]

    assert join_words(words("Hello", ",", "world", ".")) == "Hello, world."
    assert join_words(words(",", "and", "then")) == "and then"  # left over from a cut
    assert join_words(words("¿", "Qué", "tal", "?")) == "¿Qué tal?"
    items = [
        item(0.0, 0.4, "pronunciation", "我们"),
        item(0.4, 0.8, "pronunciation", "开始"),
        item(0.8, 0.8, "punctuation", "。"),
    ]
    result = Result(
        result_id="z",
        start_time=0.0,
        end_time=0.8,
        is_partial=False,
        alternatives=[Alternative(transcript="我们开始。", items=items)],
    )
    [utterance] = UtteranceCutter().feed(from_sdk_result(result))
    assert utterance.text == "我们开始。"


def test_nonsense_settings_are_refused():
    with pytest.raises(ValueError):
        UtteranceCutter(max_utterance_ms=1000, min_clause_ms=2000)
    with pytest.raises(ValueError):
        UtteranceCutter(first_index=-1)


# --- property -----------------------------------------------------------------------------

MAX_MS = 6000


@st.composite
def streams(draw):
    """A result's items with random timing and punctuation, the growing partials a
    speaker produces (stable prefix never shrinking, unstable tail sometimes guessed
    wrong), then the final."""
    count = draw(st.integers(1, 45))
    # Unpunctuated runs (forced cuts), rare commas, or plenty of clause ends.
    marks = draw(st.sampled_from([[""], [""] * 9 + [","], ["", "", "", ",", ".", "?"]]))
    items: list[Item] = []
    at = 0.0
    for n in range(count):
        at += draw(st.floats(0.0, 0.3))
        end = round(at + draw(st.floats(0.05, 0.9)), 3)
        items.append(item(round(at, 3), end, "pronunciation", f"w{n}"))
        at = end
        mark = draw(st.sampled_from(marks))
        if mark:
            items.append(item(end, end, "punctuation", mark))
    partials: list[Result] = []
    heard, stable = 0, 0
    while heard < len(items):
        heard = min(len(items), heard + draw(st.integers(1, 5)))
        stable = min(heard, max(stable, heard - draw(st.integers(0, 3))))
        guessed = [
            i if n < stable or not draw(st.booleans()) else item(i.start_time, i.end_time, i.type, "zz")
            for n, i in enumerate(items[:heard])
        ]
        partials.append(sdk_result("r", guessed, partial=True, stable_count=stable))
    return count, partials, sdk_result("r", items, partial=False)


@settings(max_examples=300, deadline=None)
@given(streams())
def test_every_word_is_emitted_once_in_order_and_no_utterance_is_too_long(stream):
    count, partials, final = stream
    cutter = UtteranceCutter(first_index=5, max_utterance_ms=MAX_MS)
    out: list[Utterance] = []
    for partial in partials:
        out += feed(cutter, event(partial))
    out += feed(cutter, event(final))
    out += cutter.flush()
    assert spoken_words(out) == [f"w{n}" for n in range(count)]
    assert [u.index for u in out] == list(range(5, 5 + len(out)))
    assert all(u.duration_ms <= MAX_MS or len(u.text.split()) == 1 for u in out)
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(out))
