"""The long-talk bench's grouping (bench/long_talk.py) and the cutting bench's waits
(bench/cutting.py): what their published figures are made of."""

from __future__ import annotations

from bench.cutting import Setting, cut
from bench.long_talk import by_window, stages_by_window
from s3_audio_consumer.utterances import StreamResult, Word


def test_latencies_are_grouped_by_the_window_their_utterance_starts_in() -> None:
    timeline = [
        ("translatedText", 0, 1_000, 900.0),
        ("translatedAudio", 0, 1_000, 1_500.0),
        ("translatedText", 1, 119_999, 1_000.0),
        ("translatedText", 2, 120_000, 3_000.0),
        ("transcript", 2, 120_000, 50.0),  # the speaker's: where the recognizer's part of the wait ends
        ("provisionalCaption", 2, 120_000, 10.0),  # not an utterance's end
    ]
    windows = by_window(timeline, 120_000)
    assert list(windows) == ["0-120 s", "120-240 s"]
    assert windows["0-120 s"]["caption_ms"] == {"n": 2, "p50": 950, "p95": 1000}
    assert windows["0-120 s"]["voice_ms"]["n"] == 1
    assert windows["120-240 s"] == {
        "caption_ms": {"n": 1, "p50": 3000, "p95": 3000},
        "transcript_ms": {"n": 1, "p50": 50, "p95": 50},
    }


def test_stage_times_follow_their_utterance_into_its_window() -> None:
    timeline = [("translatedText", 0, 5_000, 1.0), ("translatedText", 7, 130_000, 1.0)]
    reports = [
        {"index": 0, "timesMs": {"translate": 100.0}},
        {"index": 7, "timesMs": {"translate": 400.0}},
        {"index": 9, "timesMs": {"translate": 900.0}},  # another session's: not in this talk
    ]
    assert stages_by_window(reports, timeline, 120_000) == {
        "0-120 s": {"translate": 100},
        "120-240 s": {"translate": 400},
    }


def words(*spec: tuple[str, float, float, bool]) -> tuple[Word, ...]:
    return tuple(Word(text, start, end, stable, text in ",.") for text, start, end, stable in spec)


def test_a_word_waits_from_its_end_until_the_result_its_utterance_was_cut_from() -> None:
    partial = StreamResult(
        "r", True, 0.0, 5.0, words(("one", 0.0, 1.0, True), ("two", 1.0, 2.0, True), (",", 2.0, 2.0, True),
                                   ("three", 2.0, 3.0, False)), "one two, three",
    )  # fmt: skip
    final = StreamResult(
        "r", False, 0.0, 6.0, words(("one", 0.0, 1.0, True), ("two", 1.0, 2.0, True), (",", 2.0, 2.0, True),
                                    ("three", 2.0, 3.0, True), (".", 3.0, 3.0, True)), "one two, three.",
    )  # fmt: skip
    early = cut([partial, final], Setting("clause >= 1 s", 1000, 6000))
    assert early.texts == ["one two,", "three."]
    # "one" and "two," end at 1 s and 2 s and go out with the partial at 5 s; "three." at 6 s.
    assert early.waits_ms == [4000, 3000, 3000]
    whole = cut([partial, final], Setting("pauses only", 60_000, 60_000))
    assert whole.texts == ["one two, three."]
