"""The speaker's audio chunks: checked against the session and the seq window, counted,
and handed to the chunk writer."""

from __future__ import annotations

from dataclasses import dataclass

from connection_handler import messages as m
from connection_handler.access import Part
from connection_handler.context import Caller, Outgoing
from shared.chunk_events import ChunkEvent
from shared.protocol import ErrorCode, ProtocolError
from shared.session_record import SessionRecord

EBML_MAGIC_BASE64 = "GkXfo"  # how chunk 0, the start of a WebM stream, begins in base64


@dataclass(frozen=True, repr=False)
class Chunks(Part):
    def audio_chunk(self, caller: Caller, action: m.AudioChunk) -> list[Outgoing]:
        """Any seq within the window is taken, in any order: on AWS each message is its
        own invocation, so chunk N+1 can overtake N. Storing is by key and idempotent,
        so a resend of a stored chunk (after a reconnect, or an error reply) changes
        nothing; the pipeline reads chunks in seq order and waits for missing ones. A
        chunk the speaker sent before endSession (seq <= the end's finalSeq) is still taken
        when the end overtook it."""
        session = self._chunk_session(caller, action)
        if session.status == "paused":
            raise ProtocolError(
                ErrorCode.BROADCAST_PAUSED, "the broadcast is paused; resume it to send audio"
            )
        highest = session.last_seq
        if action.seq > highest + self.ports.limits.max_seq_jump:
            raise ProtocolError(
                ErrorCode.SEQ_OUT_OF_RANGE,
                f"seq {action.seq} jumps too far ahead of {highest}; seq counts from 0",
            )
        if action.seq == 0 and not action.data.startswith(EBML_MAGIC_BASE64):
            raise ProtocolError(ErrorCode.INVALID_AUDIO, "chunk 0 must be the start of a WebM stream")
        self.throttle.take_chunk(action.sessionId)
        self.ports.sessions.raise_high_water(action.sessionId, action.seq)
        self.ports.forward(ChunkEvent(action.sessionId, action.seq, action.data).payload())
        return []

    def _chunk_session(self, caller: Caller, action: m.AudioChunk) -> SessionRecord:
        """The speaker's live session; or the ended one, when this chunk is one the speaker
        sent before ending it. One read decides both, so an end that lands between two
        reads cannot refuse a chunk it announced."""
        session = self.access.read(action.sessionId)
        if (
            session
            and session.status == "ended"
            and caller.role == "speaker"
            and session.speaker_connection_id == caller.connection_id
            and action.seq <= max(session.final_seq, session.last_seq)
        ):
            return session
        return self.access.own_session(caller, action.sessionId, read=session)
