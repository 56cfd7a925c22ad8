"""Every function's logger, metrics and tracer, named once.

Powertools reads the service name and the metrics namespace from the function's
environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE: infra/python_function.py),
so one instance of each serves every function. The tracer writes X-Ray segments where the
function runs with active tracing (on AWS: every function; API Gateway traces no WebSocket stage);
off Lambda (tests, the local runner) Powertools turns it off by itself.

An utterance is followed across functions by its keys: `follow(sessionId=..., seq=...)`
puts them in every log line of the invocation and on its X-Ray segment as annotations,
which X-Ray's trace search filters on (annotation.sessionId = "...")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
tracer = Tracer()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def observed(handler: Handler) -> Handler:
    """A Lambda handler with its invocation's context (and no earlier one's) in its logs,
    its metrics flushed at the end, and its own X-Ray subsegment. The response is not put
    on the trace: the processor's carries the text of the talk, and talks may be
    confidential."""
    traced = tracer.capture_lambda_handler(handler, capture_response=False)
    # clear_state: a warm container's next invocation starts without the keys the last one
    # followed (a heartbeat must not carry the seq of the chunk before it).
    logged = logger.inject_lambda_context(metrics.log_metrics(traced), clear_state=True)
    return cast(Handler, logged)


def follow(**keys: str | int | None) -> None:
    """Keys of what this invocation works on (sessionId, seq, index, ...): in every log
    line after this call, and searchable on the trace. Unset ones (None) are left out."""
    present = {name: value for name, value in keys.items() if value is not None}
    logger.append_keys(**present)
    for name, value in present.items():
        # An int is a numbers.Number only by ABC registration, which mypy does not follow.
        tracer.put_annotation(name, value)  # type: ignore[arg-type]
