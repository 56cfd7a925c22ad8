"""What the bench measures of live text (bench/live_text.py): word to caption, counting
provisional captions, and the Translate characters live text adds."""

from __future__ import annotations

import pytest

from bench.live_text import translated_chars, word_lags, word_to_caption_ms


def final(index: int, source: str, text: str, start_ms: int, duration_ms: int) -> dict:
    return {
        "type": "translatedText",
        "index": index,
        "sourceText": source,
        "text": text,
        "startMs": start_ms,
        "durationMs": duration_ms,
    }


def clause(index: int, seq: int, source: str, text: str) -> dict:
    return {"type": "provisionalCaption", "index": index, "seq": seq, "sourceText": source, "text": text}


def spoken_at(ms: float) -> float:
    return ms / 1000  # the talk's clock: a word is spoken when its end is


def test_without_provisional_captions_every_word_waits_for_its_utterance_caption():
    messages = [(final(0, "one two three four", "uno dos tres cuatro", 0, 4000), 6.0)]
    assert word_to_caption_ms(messages, spoken_at) == pytest.approx([5000, 4000, 3000, 2000])


def test_a_provisional_clause_brings_its_words_forward_and_the_rest_wait_for_the_final():
    messages = [
        (final(0, "one two, three four", "uno dos, tres cuatro", 0, 4000), 6.0),
        (clause(0, 0, "one two,", "uno dos,"), 3.0),
    ]
    assert word_to_caption_ms(messages, spoken_at) == pytest.approx([2000, 1000, 3000, 2000])


def test_clauses_count_in_seq_order_whatever_their_arrival_and_a_voice_is_a_caption_too():
    audio = {**final(0, "a b c d", "a b c d", 0, 4000), "type": "translatedAudio"}
    messages = [
        (audio, 5.0),
        (clause(0, 1, "c", "c"), 3.5),
        (clause(0, 0, "a b", "a b"), 3.0),
    ]
    assert word_to_caption_ms(messages, spoken_at) == pytest.approx([2000, 1000, 500, 1000])


def test_the_plotted_lags_name_each_word_by_its_end_in_the_talk_in_talk_order():
    messages = [
        (final(1, "c d", "c d", 10_000, 2000), 13.5),  # arrives first in the list, later in the talk
        (final(0, "a b", "a b", 0, 2000), 4.0),
    ]
    lags = word_lags(messages, spoken_at)
    assert [at for at, _ in lags] == [1000, 2000, 11_000, 12_000]
    assert [lag for _, lag in lags] == pytest.approx([3000, 2000, 2500, 1500])


def test_reused_clauses_cost_no_extra_characters_and_a_final_translated_whole_does():
    reused = [
        clause(0, 0, "one two,", "uno dos,"),
        final(0, "one two, three four", "uno dos, tres cuatro", 0, 1),
    ]
    assert translated_chars(reused) == (len("one two, three four") - 1, len("one two, three four"))
    whole = [clause(1, 0, "one two,", "uno dos,"), final(1, "one too, three four", "uno también", 0, 1)]
    sent, talk = translated_chars(whole)
    assert sent - talk == len("one two,")
