"""chunk_writer: async-invoked by connection_handler for each audioChunk (and the end
marker); stores it, then makes sure the session's streaming worker runs and is watched
(shared/worker_watch.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chunk_writer import wiring
from chunk_writer.writer import RejectedChunk
from shared.observability import follow, logger, metrics, observed


@observed
def lambda_handler(
    event: dict[str, Any], context: Any, runtime: wiring.Runtime | None = None
) -> dict[str, Any]:
    follow(sessionId=event.get("sessionId"), seq=event.get("seq"))
    runtime = runtime or wiring.runtime()
    try:
        key = runtime.writer.write(event)
    except RejectedChunk as error:
        # Not raised: a retry would reject it again; the session goes on without it.
        logger.error("chunk rejected", extra={"reason": str(error)})
        metrics.add_metric(name="RejectedChunks", unit=MetricUnit.Count, value=1)
        return {"status": "rejected", "reason": str(error)}
    metrics.add_metric(name="ChunksWritten", unit=MetricUnit.Count, value=1)
    seq = event.get("seq")
    guarded = runtime.guard.after_store(str(event["sessionId"]), seq if isinstance(seq, int) else None)
    if guarded.started is not None:
        logger.info("started the session's worker", extra={"generation": guarded.started})
        metrics.add_metric(name="WorkersStarted", unit=MetricUnit.Count, value=1)
    if guarded.watch_started:
        logger.info("started the session's worker watch")
    return {"status": "stored", "key": key, "workerStarted": guarded.started}
