"""The connection handler's events for the chunk writer read back as they were built."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.chunk_events import ChunkEvent, EndOfStreamEvent, InvalidWriterEvent, writer_event
from shared.session_ids import new_session_id

session_ids = st.builds(new_session_id)


@given(session_id=session_ids, seq=st.integers(0, 10**6), data=st.text(alphabet="AZaz09+/=", max_size=40))
def test_a_chunk_event_reads_back(session_id: str, seq: int, data: str) -> None:
    event = ChunkEvent(session_id, seq, data)
    assert writer_event(event.payload()) == event


@given(session_id=session_ids, final_seq=st.integers(-1, 10**6))
def test_an_end_of_stream_event_reads_back(session_id: str, final_seq: int) -> None:
    event = EndOfStreamEvent(session_id, final_seq)
    assert writer_event(event.payload()) == event


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"sessionId": "nope", "seq": 1, "data": "GkXf"}, "invalid sessionId 'nope'"),
        ({"seq": 1}, "invalid sessionId None"),
        ({"sessionId": "calm-river-1234", "seq": True, "data": ""}, "invalid seq True"),
        ({"sessionId": "calm-river-1234", "seq": -1, "data": ""}, "invalid seq -1"),
        ({"sessionId": "calm-river-1234", "endOfStream": True, "finalSeq": -2}, "invalid finalSeq -2"),
        ({"sessionId": "calm-river-1234", "endOfStream": True, "finalSeq": "3"}, "invalid finalSeq '3'"),
    ],
)
def test_a_malformed_event_is_refused_with_its_reason(event: dict, reason: str) -> None:
    with pytest.raises(InvalidWriterEvent) as refused:
        writer_event(event)
    assert str(refused.value) == reason
