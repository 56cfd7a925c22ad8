"""s3_audio_consumer: the session's streaming worker (see worker.py).

Invoked asynchronously with a `shared.worker_kick.WorkerStart`: by the chunk writer or
the worker watch when a session has no live worker, and by a worker handing over to its
successor. Runs until the talk ends, it hands over, parks in a long pause, loses its
lease or cannot go on (it then gives the lease up for a replacement)."""

from __future__ import annotations

import time
from typing import Any

from s3_audio_consumer import wiring
from s3_audio_consumer.observability import ran
from shared.observability import follow, logger, observed
from shared.worker_kick import WorkerStart

# Left of the function's time when a worker must hand over whatever it is doing: closing
# its stream, waiting for the last results and invoking the successor.
DEADLINE_MARGIN_SECONDS = 60.0


def deadline_of(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    seconds = remaining() / 1000 if remaining else 900.0
    return time.time() + max(1.0, seconds - DEADLINE_MARGIN_SECONDS)


@observed
def lambda_handler(
    event: dict[str, Any], context: Any, runtime: wiring.Runtime | None = None
) -> dict[str, Any]:
    start = WorkerStart.parse(event)
    if start is None:
        logger.error("not a worker event", extra={"event": str(event)[:200]})
        return {"outcome": "invalid"}
    follow(sessionId=start.session_id, generation=start.generation)
    worker = (runtime or wiring.runtime(context)).worker
    return ran(worker.run(start.session_id, start.generation, deadline_of(context)))
