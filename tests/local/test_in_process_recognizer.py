"""The in-process offline recognizer (`RECOGNIZER=local.engines.streaming:build`, the
benches' and an opt-in of `make local`) on a real browser capture: since `make local`
runs the production adapter by default, this is where its own behaviour is held. Whisper
and Silero VAD on en-welcome (14.5 s), fed as the worker feeds it, 600 ms at a time,
each time once Whisper is done."""

from __future__ import annotations

import itertools
import time

import pytest

from local.engines.streaming import LocalRecognizer
from local.kit.captures import capture
from local.kit.wer import word_error_rate
from s3_audio_consumer.utterances import StreamResult
from shared.languages import LANGUAGES

SEGMENT_MS = 600
LONGEST_PIECE_S = 7.0 + 0.3  # the VAD's forced cut, plus its padding on either side


@pytest.fixture(scope="module")
def results() -> list[StreamResult]:
    talk = capture("en-welcome")
    stream = LocalRecognizer().start(LANGUAGES["en"], 16_000)
    stream.every_partial = True  # partials however loaded the machine is (the tests' setting)
    heard: list[StreamResult] = []
    for piece in talk.pieces(SEGMENT_MS):
        stream.send(piece)
        # As on a machine fast enough for every partial: Whisper keeps up with the talk.
        deadline = time.monotonic() + 60
        while stream.working and time.monotonic() < deadline:
            time.sleep(0.02)
        heard += stream.results()
    return heard + stream.close(timeout_s=120)


def test_the_finals_say_what_the_speaker_said(results):
    finals = [r for r in results if not r.is_partial]
    said = " ".join(r.text for r in finals)
    assert finals
    assert word_error_rate(capture("en-welcome").script(), said) < 0.2


def test_each_final_ends_at_a_pause_within_the_vads_longest_piece(results):
    finals = [r for r in results if not r.is_partial]
    assert all(0 < r.end_s - r.start_s <= LONGEST_PIECE_S for r in finals)
    assert all(a.end_s <= b.start_s + 0.01 for a, b in itertools.pairwise(finals))


def test_partials_come_while_a_piece_is_spoken_and_a_stable_word_never_changes(results):
    partials = [r for r in results if r.is_partial]
    assert partials, "no partial result at all"
    by_result: dict[str, list[StreamResult]] = {}
    for result in results:
        by_result.setdefault(result.result_id, []).append(result)
    checked = 0
    for sequence in by_result.values():
        for earlier, later in itertools.pairwise(sequence):
            stable = [w for w in earlier.words if w.stable]
            assert [w.content for w in later.words[: len(stable)]] == [w.content for w in stable]
            checked += len(stable)
    assert checked > 0, "no word was ever marked stable"
