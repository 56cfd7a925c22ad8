"""getTranscript: who may have which language of a session's transcript; the transcripts
function builds the files and answers the caller with `transcriptReady`."""

from __future__ import annotations

from dataclasses import dataclass

from connection_handler import messages as m
from connection_handler.access import Part
from connection_handler.context import Caller, Outgoing
from shared.protocol import ErrorCode, ProtocolError
from shared.transcript_records import TranscriptRequest


@dataclass(frozen=True, repr=False)
class Transcripts(Part):
    def get_transcript(self, caller: Caller, action: m.GetTranscript) -> list[Outgoing]:
        """The speaker may have any language of their session (during it and after its
        end); a listener only the language they listen to, of the session they joined."""
        if caller.role == "speaker":
            self._check_speaker(caller, action)
        else:
            self._check_listener(caller, action)
        request = self.ports.transcripts
        if request is None:
            raise ProtocolError(ErrorCode.INTERNAL_ERROR, "transcripts are not available on this server")
        self.throttle.spend_transcript(caller, action.sessionId)
        request(
            TranscriptRequest(
                session_id=action.sessionId, language=action.language, connection_id=caller.connection_id
            ).payload()
        )
        return []

    def _check_speaker(self, caller: Caller, action: m.GetTranscript) -> None:
        session = self.access.read(action.sessionId)
        if not session or not caller.user_id or session.speaker_user_id != caller.user_id:
            self.access.miss(caller, action.sessionId)
        if not self.ports.served.serves(session.source_language, action.language):  # a source serves itself
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE, f"this session has no {action.language!r} transcript"
            )

    def _check_listener(self, caller: Caller, action: m.GetTranscript) -> None:
        connection = self.ports.connections.get(caller.connection_id)
        if connection is None or connection.session_id != action.sessionId:
            self.access.miss(caller, action.sessionId)  # the caller's own binding, before any read
        if connection.target_language != action.language:
            raise ProtocolError(ErrorCode.FORBIDDEN, "a listener has the transcript of their own language")
