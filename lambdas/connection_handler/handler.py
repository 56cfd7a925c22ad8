"""connection_handler: every route of the WebSocket API.

Parses and validates the event, calls one SessionService method, sends what it
returns, and maps every error to one `error` message in one place."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from connection_handler import messages as m
from connection_handler import wiring
from connection_handler.parsing import parse_action
from connection_handler.service import Caller, SessionService
from shared.protocol import ErrorCode, ProtocolError, error_message

logger = Logger()
metrics = Metrics()

# Tests and the local runner may replace the runtime; AWS builds it once per cold start.
_runtime = wiring.runtime
Runtime = wiring.Runtime

ROUTES = {
    "createSession": SessionService.create_session,
    "joinSession": SessionService.join_session,
    "switchLanguage": SessionService.switch_language,
    "audioChunk": SessionService.audio_chunk,
    "pauseBroadcast": SessionService.pause,
    "resumeBroadcast": SessionService.resume,
    "endSession": SessionService.end,
    "heartbeat": SessionService.heartbeat,
    "getTranscript": SessionService.get_transcript,
}

CONNECT_STATUS = {
    ErrorCode.SESSION_NOT_FOUND: 404,
    ErrorCode.SESSION_ENDED: 410,
    ErrorCode.SESSION_EXPIRED: 410,
    ErrorCode.SESSION_FULL: 429,
    ErrorCode.RATE_LIMITED: 429,
}


def _caller(event: dict[str, Any], service: SessionService) -> Caller:
    context = event["requestContext"]
    connection_id = context["connectionId"]
    source_ip = context.get("identity", {}).get("sourceIp", "")
    authorizer = context.get("authorizer") or {}
    if context.get("eventType") != "CONNECT":
        stored = service.connections.get(connection_id)
        if stored:  # the role given at $connect is the one that counts
            return Caller(connection_id, str(stored.get("role")), str(stored.get("userId", "")), source_ip)
    return Caller(
        connection_id, str(authorizer.get("role", "listener")), str(authorizer.get("userId", "")), source_ip
    )


def send(runtime: wiring.Runtime, outgoing: list[tuple[str, dict[str, Any]]]) -> None:
    """Sends; a connection that is gone (410) is forgotten, and whoever must know is told."""
    while outgoing:
        gone = runtime.notifier.send_many(outgoing)
        if gone:
            metrics.add_metric(name="GoneConnections", unit=MetricUnit.Count, value=len(gone))
        outgoing = runtime.service.forget(gone) if gone else []


def _connect(runtime: wiring.Runtime, caller: Caller, event: dict[str, Any]) -> dict[str, Any]:
    try:
        outgoing = runtime.service.connect(caller, event.get("queryStringParameters") or {})
    except ProtocolError as error:
        runtime.service.connections.delete(caller.connection_id)
        metrics.add_metric(name="RejectedConnections", unit=MetricUnit.Count, value=1)
        status = CONNECT_STATUS.get(error.code, 400)
        return {"statusCode": status, "body": json.dumps(error_message(error.code, error.message))}
    # API Gateway cannot post to a connection before $connect returns (410):
    # the caller learns of its join by the status code, others are told now.
    send(runtime, [(cid, message) for cid, message in outgoing if cid != caller.connection_id])
    return {"statusCode": 200}


def _message(runtime: wiring.Runtime, caller: Caller, body: str | None) -> list[tuple[str, dict[str, Any]]]:
    action: m.Action | None = None
    try:
        action = parse_action(body)
        return ROUTES[action.action](runtime.service, caller, action)  # type: ignore[operator]
    except ProtocolError as error:
        metrics.add_metric(
            name=f"Error{error.code.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1
        )
        logger.info("request refused", extra={"code": error.code.value, "reason": error.message})
        code, text = error.code, error.message
    except Exception:
        logger.exception("unexpected failure")
        metrics.add_metric(name="InternalErrors", unit=MetricUnit.Count, value=1)
        code, text = ErrorCode.INTERNAL_ERROR, "the server failed to handle this message; it was not applied"
    # A refused chunk names its seq, so that the speaker can resend exactly that one.
    extra = {"seq": action.seq} if isinstance(action, m.AudioChunk) else {}
    return [(caller.connection_id, error_message(code, text, action.action if action else None, **extra))]


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    runtime = _runtime()
    request = event["requestContext"]
    event_type = request.get("eventType")
    caller = _caller(event, runtime.service)
    logger.append_keys(connectionId=caller.connection_id, routeKey=request.get("routeKey"), role=caller.role)
    if event_type == "CONNECT":
        return _connect(runtime, caller, event)
    if event_type == "DISCONNECT":
        send(runtime, runtime.service.disconnect(caller))
        return {"statusCode": 200}
    send(runtime, _message(runtime, caller, event.get("body")))
    return {"statusCode": 200}
