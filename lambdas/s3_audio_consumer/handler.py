"""s3_audio_consumer: the session's streaming worker (see worker.py).

Invoked asynchronously with {"sessionId", "generation"}: by the chunk writer when a
session has no live worker, and by a worker handing over to its successor. Runs until
the talk ends, it hands over, or it loses its lease."""

from __future__ import annotations

import time
from typing import Any

from s3_audio_consumer import wiring
from s3_audio_consumer.observability import logger, metrics, ran, stream_failed
from s3_audio_consumer.recognition import StreamFailed
from shared.session_ids import is_session_id

# Left of the function's time when a worker must hand over whatever it is doing: closing
# its stream, waiting for the last results and invoking the successor.
DEADLINE_MARGIN_SECONDS = 60.0


def deadline_of(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    seconds = remaining() / 1000 if remaining else 900.0
    return time.time() + max(1.0, seconds - DEADLINE_MARGIN_SECONDS)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(
    event: dict[str, Any], context: Any, runtime: wiring.Runtime | None = None
) -> dict[str, Any]:
    session_id, generation = event.get("sessionId"), event.get("generation")
    if not is_session_id(session_id) or not isinstance(generation, int) or generation < 0:
        logger.error("not a worker event", extra={"event": str(event)[:200]})
        return {"outcome": "invalid"}
    logger.append_keys(sessionId=session_id, generation=generation)
    worker = (runtime or wiring.runtime(context)).worker
    try:
        return ran(worker.run(str(session_id), generation, deadline_of(context)))
    except StreamFailed:
        return stream_failed(worker.counters)
