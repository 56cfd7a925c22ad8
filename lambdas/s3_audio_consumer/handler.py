"""s3_audio_consumer: the session's streaming worker (see worker.py).

Invoked asynchronously with {"sessionId", "generation"}: by the chunk writer when a
session has no live worker, and by a worker handing over to its successor. Runs until
the talk ends, it hands over, or it loses its lease."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from s3_audio_consumer import wiring
from s3_audio_consumer.recognition import StreamFailed
from s3_audio_consumer.worker import WorkerRun
from shared.session_ids import is_session_id

logger = Logger()
metrics = Metrics()

_runtime = wiring.runtime

# Left of the function's time when a worker must hand over whatever it is doing: closing
# its stream, waiting for the last results and invoking the successor.
DEADLINE_MARGIN_SECONDS = 60.0


def deadline_of(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    seconds = remaining() / 1000 if remaining else 900.0
    return time.time() + max(1.0, seconds - DEADLINE_MARGIN_SECONDS)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    session_id, generation = event.get("sessionId"), event.get("generation")
    if not is_session_id(session_id) or not isinstance(generation, int) or generation < 0:
        logger.error("not a worker event", extra={"event": str(event)[:200]})
        return {"outcome": "invalid"}
    logger.append_keys(sessionId=session_id, generation=generation)
    worker = _runtime(context).worker
    try:
        run: WorkerRun = worker.run(str(session_id), generation, deadline_of(context))
    except StreamFailed:
        # Not raised: a retry of this generation can never claim the lease again. The next
        # chunk's kick starts a replacement once the lease expires; it resumes from the checkpoint.
        logger.exception("the recognition stream failed; the worker stops")
        metrics.add_metric(name="TranscribeFailures", unit=MetricUnit.Count, value=1)
        counters = worker.counters
        if counters is not None:
            metrics.add_metric(name="ChunkGaps", unit=MetricUnit.Count, value=counters.gaps)
            metrics.add_metric(name="DecodeFailures", unit=MetricUnit.Count, value=counters.decode_failures)
        return {"outcome": "stream_failed"}
    metrics.add_metric(name="ChunkGaps", unit=MetricUnit.Count, value=run.gaps)
    metrics.add_metric(name="DecodeFailures", unit=MetricUnit.Count, value=run.decode_failures)
    metrics.add_metric(name="RecognitionStreams", unit=MetricUnit.Count, value=run.streams)
    metrics.add_metric(name="UtterancesHandedOn", unit=MetricUnit.Count, value=run.utterances)
    metrics.add_metric(name=f"Worker{run.outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    return {"outcome": run.outcome, "utterances": run.utterances, "streams": run.streams}
