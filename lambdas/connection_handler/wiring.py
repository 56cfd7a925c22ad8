"""Builds the connection handler's runtime (clients, repositories, config) once per
cold start; the WebSocket handler and the session-timer handler share it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import boto3

from connection_handler.context import Ports
from connection_handler.counters import RateCounters
from connection_handler.limits import Limits
from connection_handler.scheduler import SqsSessionTimers
from connection_handler.service import SessionService
from connection_handler.store import ConnectionRepository, SessionRepository
from delivery.audience import Audience
from delivery.fanout import FewOrMany, build_paged_fanout
from delivery.notifier import Notifier
from deployment import env_names
from deployment.config import env_int, env_str
from shared.languages import ServedPairs
from shared.worker_kick import WorkerKick
from shared.worker_watch import SqsWatchScheduler, WorkerWatch


@dataclass(frozen=True)
class HandlerConfig:
    sessions_table: str
    connections_table: str
    management_endpoint: str
    chunk_writer_function: str
    transcripts_function: str
    fanout_function: str
    worker_function: str  # the session-timer only: the worker its watch restarts
    region: str
    timer_queue_url: str
    listener_base_url: str
    limits: Limits
    served: ServedPairs

    @classmethod
    def from_env(cls) -> HandlerConfig:
        defaults = Limits()
        return cls(
            sessions_table=env_str(env_names.SESSIONS_TABLE),
            connections_table=env_str(env_names.CONNECTIONS_TABLE),
            management_endpoint=env_str(env_names.API_GATEWAY_ENDPOINT),
            chunk_writer_function=env_str(env_names.CHUNK_WRITER_FUNCTION),
            transcripts_function=env_str(env_names.TRANSCRIPTS_FUNCTION, ""),
            fanout_function=env_str(env_names.FANOUT_FUNCTION, ""),
            worker_function=env_str(env_names.AUDIO_CONSUMER_FUNCTION, ""),
            region=env_str(env_names.AWS_REGION),
            timer_queue_url=env_str(env_names.SESSION_TIMER_QUEUE_URL),
            listener_base_url=env_str(env_names.LISTENER_BASE_URL, ""),
            limits=Limits(
                max_listeners=env_int(env_names.MAX_LISTENERS_PER_SESSION, defaults.max_listeners),
                joins_per_ip_per_minute=env_int(
                    env_names.JOINS_PER_IP_PER_MINUTE, defaults.joins_per_ip_per_minute
                ),
                joins_per_session_per_second=env_int(
                    env_names.JOINS_PER_SESSION_PER_SECOND, defaults.joins_per_session_per_second
                ),
                misses_per_connection_per_minute=env_int(
                    env_names.MISSES_PER_CONNECTION_PER_MINUTE, defaults.misses_per_connection_per_minute
                ),
                misses_per_ip_per_minute=env_int(
                    env_names.MISSES_PER_IP_PER_MINUTE, defaults.misses_per_ip_per_minute
                ),
                chunks_per_second=env_int(env_names.CHUNKS_PER_SECOND, defaults.chunks_per_second),
                session_max_seconds=env_int(env_names.SESSION_MAX_SECONDS, defaults.session_max_seconds),
                speaker_grace_seconds=env_int(
                    env_names.SPEAKER_GRACE_SECONDS, defaults.speaker_grace_seconds
                ),
            ),
            served=ServedPairs.parse(env_str(env_names.LANGUAGE_PAIRS, "")),
        )


@dataclass(frozen=True)
class Runtime:
    service: SessionService
    notifier: Sender
    watch: WorkerWatch | None = None  # the session-timer's worker watch (shared/worker_watch.py)


class Sender(Protocol):
    def send_many(self, messages: list[tuple[str, dict[str, Any]]], /) -> list[str]:
        """Sends; returns the connection ids that are gone (410)."""
        ...


def build_sender(config: HandlerConfig, lambda_client: Any) -> Sender:
    """Replies one boto3 call each; a broadcast to the listeners through the paged fan-out
    (delivery/fanout.py): the fan-out function lives in AudioTranscription, called by name."""
    few = Notifier(boto3.client("apigatewaymanagementapi", endpoint_url=config.management_endpoint))
    many = build_paged_fanout(
        config.management_endpoint,
        config.region,
        boto3.Session().get_credentials,
        lambda_client,
        config.fanout_function or None,
    )
    return FewOrMany(few, many)


@cache
def runtime() -> Runtime:
    config = HandlerConfig.from_env()
    # Off AWS, botocore itself reads AWS_ENDPOINT_URL_<SERVICE> (the local runner sets them).
    dynamodb = boto3.resource("dynamodb")
    lambda_client = boto3.client("lambda")

    def invoker(function_name: str) -> Callable[[dict[str, Any]], None]:
        def invoke(payload: dict[str, Any]) -> None:
            lambda_client.invoke(
                FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload).encode()
            )

        return invoke

    sessions_table = dynamodb.Table(config.sessions_table)
    connections_table = dynamodb.Table(config.connections_table)
    ports = Ports(
        sessions=SessionRepository(sessions_table),
        connections=ConnectionRepository(connections_table),
        audience=Audience(sessions_table, connections_table, time.time),
        forward=invoker(config.chunk_writer_function),
        timers=SqsSessionTimers(boto3.client("sqs"), config.timer_queue_url),
        clock=time.time,
        listener_base_url=config.listener_base_url,
        limits=config.limits,
        served=config.served,
        transcripts=invoker(config.transcripts_function) if config.transcripts_function else None,
    )
    return Runtime(
        service=SessionService.build(ports, RateCounters(sessions_table)),
        notifier=build_sender(config, lambda_client),
        watch=_watch(config, sessions_table, lambda_client),
    )


def _watch(config: HandlerConfig, sessions_table: Any, lambda_client: Any) -> WorkerWatch | None:
    if not config.worker_function:
        return None  # the WebSocket handler: it never receives timers
    kick = WorkerKick(sessions_table, lambda_client, config.worker_function, time.time)
    return WorkerWatch(
        sessions_table, kick, SqsWatchScheduler(boto3.client("sqs"), config.timer_queue_url), time.time
    )
