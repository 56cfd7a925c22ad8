"""connection_handler -> chunk_writer: each audioChunk as the speaker sent it (base64),
and a session's end as the end-of-stream marker naming the last chunk. Defined once here;
the handler builds them, the writer reads them with `writer_event`. No pydantic: the chunk
writer's bundle has none."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from shared.session_ids import is_session_id


@dataclass(frozen=True)
class ChunkEvent:
    """connection_handler -> chunk_writer: one audioChunk, its bytes still base64."""

    session_id: str
    seq: int
    data: str

    def payload(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "seq": self.seq, "data": self.data}


@dataclass(frozen=True)
class EndOfStreamEvent:
    """connection_handler -> chunk_writer when a session ends: the last chunk (-1: none)."""

    session_id: str
    final_seq: int

    def payload(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "endOfStream": True, "finalSeq": self.final_seq}


class InvalidWriterEvent(ValueError):
    """The chunk writer's event is not a chunk or an end-of-stream marker."""


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def writer_event(event: Mapping[str, Any]) -> ChunkEvent | EndOfStreamEvent:
    """The chunk writer's invocation event, its shape checked (not its audio: the writer's)."""
    session_id = event.get("sessionId")
    if not is_session_id(session_id):
        raise InvalidWriterEvent(f"invalid sessionId {session_id!r}")
    if event.get("endOfStream"):
        final_seq = event.get("finalSeq")
        if not _whole(final_seq) or final_seq < -1:
            raise InvalidWriterEvent(f"invalid finalSeq {final_seq!r}")
        return EndOfStreamEvent(str(session_id), final_seq)
    seq = event.get("seq")
    if not _whole(seq) or seq < 0:
        raise InvalidWriterEvent(f"invalid seq {seq!r}")
    return ChunkEvent(str(session_id), seq, str(event.get("data", "")))
