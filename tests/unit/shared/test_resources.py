"""Chunk keys are written and read by one module: what chunk_key makes, parse_chunk_key reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared import resources
from shared.session_ids import new_session_id

session_ids = st.builds(lambda _: new_session_id(), st.integers())


@given(session_ids, st.integers(min_value=0, max_value=9_999_999_999))
def test_a_chunk_key_reads_back_as_its_session_and_seq(session_id: str, seq: int):
    key = resources.chunk_key(session_id, seq)
    assert resources.parse_chunk_key(key) == resources.ChunkKey(session_id, seq)
    assert key.startswith(resources.chunk_prefix(session_id))


@given(session_ids, st.integers(min_value=0, max_value=9_999_999_999))
def test_the_end_marker_reads_back_as_no_seq_and_sorts_after_every_chunk(session_id: str, seq: int):
    marker = resources.end_marker_key(session_id)
    assert resources.parse_chunk_key(marker) == resources.ChunkKey(session_id, None)
    assert marker > resources.chunk_key(session_id, seq)  # a listing by key ends with it


def test_other_keys_are_not_chunks():
    for key in (
        "sessions/a-b-1/chunks/12.webm",
        "sessions/a-b-1/translated/es/000001.mp3",
        "sessions/a-b-1/chunks/0000000012.mp3",
        "other/a-b-1/chunks/0000000012.webm",
    ):
        assert resources.parse_chunk_key(key) is None
