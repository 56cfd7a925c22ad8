"""transcripts: {sessionId, language, connectionId} from the connection handler (which
checked who may have which transcript) -> the transcript files, and a `transcriptReady`
(or a NO_TRANSCRIPT error) to that connection."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from shared.observability import follow, logger, metrics, observed
from transcripts import wiring
from transcripts.service import TranscriptRequest, answer


@observed
def lambda_handler(
    event: dict[str, Any], context: Any, runtime: wiring.TranscriptsRuntime | None = None
) -> dict[str, Any]:
    try:
        request = TranscriptRequest.model_validate(event)
    except ValidationError as error:
        logger.error("invalid transcript request", extra={"problems": str(error)})
        return {"outcome": "invalid"}
    follow(sessionId=request.session_id, language=request.language)
    runtime = runtime or wiring.transcripts_runtime()
    message = answer(runtime.service, request)
    runtime.notifier.send(request.connection_id, message)
    metrics.add_metric(name="TranscriptsServed", unit=MetricUnit.Count, value=int(message["type"] != "error"))
    return {"outcome": message["type"], "utterances": message.get("utterances", 0)}
