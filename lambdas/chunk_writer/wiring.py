"""Builds the chunk writer's runtime (the S3 writer, the worker kick and the worker
watch) once per cold start."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

import boto3

from chunk_writer.guard import WorkerGuard
from chunk_writer.writer import ChunkWriter
from deployment import env_names
from deployment.config import env_str
from shared.worker_kick import WorkerKick
from shared.worker_watch import SqsWatchScheduler, WorkerWatch


@dataclass(frozen=True)
class Runtime:
    writer: ChunkWriter
    guard: WorkerGuard


@cache
def runtime() -> Runtime:
    table = boto3.resource("dynamodb").Table(env_str(env_names.SESSIONS_TABLE))
    kick = WorkerKick(
        sessions_table=table,
        lambda_client=boto3.client("lambda"),
        worker_function=env_str(env_names.AUDIO_CONSUMER_FUNCTION),
        clock=time.time,
    )
    scheduler = SqsWatchScheduler(boto3.client("sqs"), env_str(env_names.SESSION_TIMER_QUEUE_URL))
    return Runtime(
        writer=ChunkWriter(s3=boto3.client("s3"), bucket=env_str(env_names.CHUNK_BUCKET)),
        guard=WorkerGuard(kick, WorkerWatch(table, kick, scheduler, time.time)),
    )
