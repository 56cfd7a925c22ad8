"""session-timer: the SQS delay queue's messages -> the domain's timers (lifecycle, listeners) and the
session worker's watch.

A speaker's grace period ends here: if the speaker has not resumed, the session ends
and its listeners are told. After a burst of joins, the speaker's trailing
`listenerStats` is sent from here. Every live session's worker watch fires here
(shared/worker_watch.py): a dead worker is restarted. Each record is answered on its own (partial batch
failures), so one failing session never replays the others."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from connection_handler import wiring
from connection_handler.routes import send
from connection_handler.scheduler import LISTENER_STATS, TimerMessage
from shared.observability import logger, metrics, observed
from shared.worker_watch import WatchMessage, WorkerWatch


@observed
def lambda_handler(
    event: dict[str, Any], context: Any, runtime: wiring.Runtime | None = None
) -> dict[str, Any]:
    runtime = runtime or wiring.runtime()
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        body = record.get("body", "")
        try:
            watch = WatchMessage.parse(body)
            if watch is not None:
                _watch(runtime.watch, watch, failures, record)
                continue
            timer = TimerMessage.parse(body)
        except ValueError:
            logger.error("dropped a malformed timer message", extra={"messageId": record.get("messageId")})
            metrics.add_metric(name="MalformedTimers", unit=MetricUnit.Count, value=1)
            continue  # retrying cannot fix it
        try:
            if timer.kind == LISTENER_STATS:
                send(runtime, runtime.service.listeners.stats_due(timer.session_id))
                continue
            outgoing = runtime.service.lifecycle.expire_suspension(timer.session_id, timer.suspended_at_ms)
            if outgoing:
                metrics.add_metric(name="SessionsEndedAfterGrace", unit=MetricUnit.Count, value=1)
            send(runtime, outgoing)
        except Exception:
            logger.exception("timer failed; SQS will deliver it again", extra={"sessionId": timer.session_id})
            failures.append({"itemIdentifier": str(record.get("messageId", ""))})
    return {"batchItemFailures": failures}


def _watch(
    watch: WorkerWatch | None, message: WatchMessage, failures: list[dict[str, str]], record: Any
) -> None:
    if watch is None:
        logger.error("a worker watch reached a function without the worker's name")
        return
    try:
        outcome = watch.fire(message)
    except Exception:
        logger.exception(
            "worker watch failed; SQS will deliver it again", extra={"sessionId": message.session_id}
        )
        failures.append({"itemIdentifier": str(record.get("messageId", ""))})
        return
    if outcome.started is not None:
        logger.warning("the worker watch restarted a session worker", extra={"generation": outcome.started})
        metrics.add_metric(name="WorkersRestartedByWatch", unit=MetricUnit.Count, value=1)
