"""connection_handler: every route of the WebSocket API.

Parses and validates the event, calls one SessionService method, sends what it
returns, and maps every error to one `error` message in one place."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from connection_handler import messages as m
from connection_handler.service import Caller, Limits, SessionService
from connection_handler.store import ConnectionRepository, SessionRepository
from shared import env_names
from shared.config import env_int, env_str
from shared.languages import ServedPairs
from shared.notifier import Notifier
from shared.protocol import MAX_MESSAGE_BYTES, ErrorCode, ProtocolError, error_message

logger = Logger()
metrics = Metrics()


@dataclass(frozen=True)
class HandlerConfig:
    sessions_table: str
    connections_table: str
    management_endpoint: str
    chunk_writer_function: str
    listener_base_url: str
    limits: Limits
    served: ServedPairs

    @classmethod
    def from_env(cls) -> HandlerConfig:
        return cls(
            sessions_table=env_str(env_names.SESSIONS_TABLE),
            connections_table=env_str(env_names.CONNECTIONS_TABLE),
            management_endpoint=env_str(env_names.API_GATEWAY_ENDPOINT),
            chunk_writer_function=env_str(env_names.CHUNK_WRITER_FUNCTION),
            listener_base_url=env_str(env_names.LISTENER_BASE_URL, ""),
            limits=Limits(
                max_listeners=env_int("MAX_LISTENERS_PER_SESSION", 500),
                joins_per_ip_per_minute=env_int("JOINS_PER_IP_PER_MINUTE", 60),
                chunks_per_second=env_int("CHUNKS_PER_SECOND", 10),
                session_max_seconds=env_int("SESSION_MAX_SECONDS", 4 * 3600),
            ),
            served=ServedPairs.parse(env_str("LANGUAGE_PAIRS", "")),
        )


@dataclass(frozen=True)
class Runtime:
    service: SessionService
    notifier: Notifier


@cache
def _runtime() -> Runtime:
    config = HandlerConfig.from_env()
    # Off AWS, botocore itself reads AWS_ENDPOINT_URL_<SERVICE> (the local runner sets them).
    dynamodb = boto3.resource("dynamodb")
    lambda_client = boto3.client("lambda")

    def forward(payload: dict[str, Any]) -> None:
        lambda_client.invoke(
            FunctionName=config.chunk_writer_function,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )

    service = SessionService(
        sessions=SessionRepository(dynamodb.Table(config.sessions_table)),
        connections=ConnectionRepository(dynamodb.Table(config.connections_table)),
        forward=forward,
        clock=time.time,
        listener_base_url=config.listener_base_url,
        limits=config.limits,
        served=config.served,
    )
    notifier = Notifier(boto3.client("apigatewaymanagementapi", endpoint_url=config.management_endpoint))
    return Runtime(service=service, notifier=notifier)


ROUTES = {
    "createSession": SessionService.create_session,
    "joinSession": SessionService.join_session,
    "switchLanguage": SessionService.switch_language,
    "audioChunk": SessionService.audio_chunk,
    "pauseBroadcast": SessionService.pause,
    "resumeBroadcast": SessionService.resume,
    "endSession": SessionService.end,
    "heartbeat": SessionService.heartbeat,
}

CONNECT_STATUS = {
    ErrorCode.SESSION_NOT_FOUND: 404,
    ErrorCode.SESSION_ENDED: 410,
    ErrorCode.SESSION_EXPIRED: 410,
    ErrorCode.SESSION_FULL: 429,
    ErrorCode.RATE_LIMITED: 429,
}


def parse_action(body: str | None) -> m.Action:
    if body is None or len(body.encode()) > MAX_MESSAGE_BYTES:
        raise ProtocolError(ErrorCode.MESSAGE_TOO_LARGE, f"messages are limited to {MAX_MESSAGE_BYTES} bytes")
    try:
        raw = json.loads(body)
    except json.JSONDecodeError as error:
        raise ProtocolError(ErrorCode.INVALID_JSON, f"the message is not JSON: {error.msg}") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("action"), str):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "a message is a JSON object with a string 'action'")
    model = m.ACTIONS.get(raw["action"])
    if model is None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_ACTION, f"unknown action {raw['action']!r}; known: {', '.join(m.ACTIONS)}"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in error.errors()
        )
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, problems) from error


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


def _send(runtime: Runtime, outgoing: list[tuple[str, dict[str, Any]]]) -> None:
    for gone in runtime.notifier.send_many(outgoing):
        runtime.service.connections.delete(gone)
        metrics.add_metric(name="StaleConnectionsRemoved", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    runtime = _runtime()
    request = event["requestContext"]
    event_type = request.get("eventType")
    caller = _caller(event, runtime.service)
    logger.append_keys(connectionId=caller.connection_id, routeKey=request.get("routeKey"), role=caller.role)

    if event_type == "CONNECT":
        try:
            outgoing = runtime.service.connect(caller, event.get("queryStringParameters") or {})
            # API Gateway cannot post to a connection before $connect returns (410):
            # the caller learns of its join by the status code, others are told now.
            _send(runtime, [(cid, message) for cid, message in outgoing if cid != caller.connection_id])
        except ProtocolError as error:
            runtime.service.connections.delete(caller.connection_id)
            metrics.add_metric(name="RejectedConnections", unit=MetricUnit.Count, value=1)
            status = CONNECT_STATUS.get(error.code, 400)
            return {"statusCode": status, "body": json.dumps(error_message(error.code, error.message))}
        return {"statusCode": 200}
    if event_type == "DISCONNECT":
        _send(runtime, runtime.service.disconnect(caller))
        return {"statusCode": 200}

    action_name = None
    try:
        action = parse_action(event.get("body"))
        action_name = action.action
        outgoing = ROUTES[action.action](runtime.service, caller, action)  # type: ignore[operator]
    except ProtocolError as error:
        metrics.add_metric(
            name=f"Error{error.code.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1
        )
        logger.info("request refused", extra={"code": error.code.value, "reason": error.message})
        outgoing = [(caller.connection_id, error_message(error.code, error.message, action_name))]
    except Exception:
        logger.exception("unexpected failure")
        metrics.add_metric(name="InternalErrors", unit=MetricUnit.Count, value=1)
        message = "the server failed to handle this message; it was not applied"
        outgoing = [(caller.connection_id, error_message(ErrorCode.INTERNAL_ERROR, message, action_name))]
    _send(runtime, outgoing)
    return {"statusCode": 200}
