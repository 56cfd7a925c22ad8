"""audio_processor: one utterance from the session's worker -> captions and clips for
listeners; or one stable clause of a running utterance -> provisional captions (§15).
Validates the payload, runs the pipeline once per (sessionId, index) (see
wiring.Runtime.process), and reports it (observability)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from audio_processor import wiring
from audio_processor.observability import clause_reported, refused, reported
from shared.audio_unit import ClauseUnit, UtteranceUnit, is_clause_event
from shared.observability import follow, observed


@observed
def lambda_handler(
    event: dict[str, Any], context: Any, runtime: wiring.Runtime | None = None
) -> dict[str, Any]:
    if is_clause_event(event):
        try:
            clause = ClauseUnit.model_validate(event)
        except ValidationError as error:
            return refused(error)
        follow(sessionId=clause.session_id, index=clause.index)
        return clause_reported((runtime or wiring.runtime()).provisional(clause, context))
    try:
        unit = UtteranceUnit.model_validate(event)
    except ValidationError as error:
        return refused(error)
    follow(sessionId=unit.session_id, index=unit.index)
    return reported((runtime or wiring.runtime()).process(unit, context))
