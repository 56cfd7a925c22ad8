"""API Gateway's three kinds of WebSocket event -> calls of the domain's parts (service.py),
and what they return -> sends. Every error of a message is mapped to one `error` message
here."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from connection_handler import messages as m
from connection_handler import wiring
from connection_handler.context import Caller, Outgoing
from connection_handler.parsing import parse_action
from connection_handler.service import SessionService
from shared.authorizer_context import AuthorizerContext
from shared.observability import follow, logger, metrics
from shared.protocol import ErrorCode, ProtocolError, error_message

# Each action -> the part of the domain that serves it, and its method there.
Route = Callable[[SessionService], Callable[[Caller, Any], list[Outgoing]]]
ROUTES: dict[str, Route] = {
    "createSession": lambda service: service.lifecycle.create_session,
    "pauseBroadcast": lambda service: service.lifecycle.pause,
    "resumeBroadcast": lambda service: service.lifecycle.resume,
    "endSession": lambda service: service.lifecycle.end,
    "audioChunk": lambda service: service.chunks.audio_chunk,
    "joinSession": lambda service: service.listeners.join_session,
    "switchLanguage": lambda service: service.listeners.switch_language,
    "getTranscript": lambda service: service.transcripts.get_transcript,
    "heartbeat": lambda service: service.connections.heartbeat,
}


CONNECT_STATUS = {
    ErrorCode.SESSION_NOT_FOUND: 404,
    ErrorCode.SESSION_ENDED: 410,
    ErrorCode.SESSION_EXPIRED: 410,
    ErrorCode.SESSION_FULL: 429,
    ErrorCode.RATE_LIMITED: 429,
}


def claimed_caller(request: dict[str, Any]) -> Caller:
    """The caller as API Gateway's request context names it (the authorizer's context)."""
    source_ip = request.get("identity", {}).get("sourceIp", "")
    claimed = AuthorizerContext.from_request(request.get("authorizer"))
    return Caller(request["connectionId"], claimed.role, claimed.user_id, source_ip)


def send(runtime: wiring.Runtime, outgoing: list[tuple[str, dict[str, Any]]]) -> None:
    """Sends; a connection that is gone (410) is forgotten, and whoever must know is told."""
    while outgoing:
        gone = runtime.notifier.send_many(outgoing)
        if gone:
            metrics.add_metric(name="GoneConnections", unit=MetricUnit.Count, value=len(gone))
        outgoing = runtime.service.listeners.forget(gone) if gone else []


def connect(runtime: wiring.Runtime, caller: Caller, query: dict[str, str]) -> dict[str, Any]:
    try:
        outgoing = runtime.service.connections.connect(caller, query)
    except ProtocolError as error:
        runtime.service.connections.refuse(caller)
        metrics.add_metric(name="RejectedConnections", unit=MetricUnit.Count, value=1)
        status = CONNECT_STATUS.get(error.code, 400)
        return {"statusCode": status, "body": json.dumps(error_message(error.code, error.message))}
    # API Gateway cannot post to a connection before $connect returns (410):
    # the caller learns of its join by the status code, others are told now.
    send(runtime, [(cid, message) for cid, message in outgoing if cid != caller.connection_id])
    return {"statusCode": 200}


def message(runtime: wiring.Runtime, caller: Caller, body: str | None) -> list[tuple[str, dict[str, Any]]]:
    action: m.Action | None = None
    try:
        action = parse_action(body)
        # Which session (and which chunk) the message is about, on its logs and its trace.
        follow(sessionId=getattr(action, "sessionId", None), seq=getattr(action, "seq", None))
        return ROUTES[action.action](runtime.service)(caller, action)
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
