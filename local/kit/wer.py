"""Word error rate of a recognizer's text against the script it read.

jiwer counts the edits; this module only decides what a word is, so that case, width
variants and punctuation are not counted as errors."""

from __future__ import annotations

import re
import unicodedata

import jiwer


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.findall(r"\w+", text)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edits (substitutions, deletions, insertions) over the reference's words."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        # jiwer rejects an empty reference; against nothing, every heard word is an insertion.
        return float(len(hyp))
    return float(jiwer.wer(" ".join(ref), " ".join(hyp)))
