"""The word error rate the integration tests and benches assert on: jiwer's edit count over
this project's idea of a word (case, width variants and punctuation do not count)."""

from __future__ import annotations

import pytest

from local.kit.wer import word_error_rate, words


def test_a_word_is_a_run_of_letters_or_digits_whatever_its_case_or_width():
    assert words("Bonjour, le MONDE ! ﬁn 42.") == ["bonjour", "le", "monde", "fin", "42"]


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("the cat sat on the mat", "the cat sat on the mat", 0.0),
        ("The cat sat, on the mat.", "the cat sat on the mat", 0.0),
        ("the cat sat on the mat", "the cat sat on mat", 1 / 6),  # a deletion
        ("the cat sat on the mat", "the black cat sat on the mat", 1 / 6),  # an insertion
        ("the cat sat on the mat", "the dog sat on the hat", 2 / 6),  # two substitutions
        ("one two", "", 1.0),  # nothing heard
        ("one two", "one two three four five", 1.5),  # the rate has no ceiling
        ("", "", 0.0),
        ("", "stray words", 2.0),  # against no script, each heard word is an insertion
    ],
)
def test_edits_over_the_reference_words(reference, hypothesis, expected):
    assert word_error_rate(reference, hypothesis) == pytest.approx(expected)
