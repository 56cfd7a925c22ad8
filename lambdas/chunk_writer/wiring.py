"""Builds the chunk writer's runtime (the S3 writer and the worker kick) once per cold start."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

import boto3

from chunk_writer.kick import WorkerKick
from chunk_writer.writer import ChunkWriter
from shared import env_names
from shared.config import env_str


@dataclass(frozen=True)
class Runtime:
    writer: ChunkWriter
    kick: WorkerKick


@cache
def runtime() -> Runtime:
    return Runtime(
        writer=ChunkWriter(s3=boto3.client("s3"), bucket=env_str(env_names.CHUNK_BUCKET)),
        kick=WorkerKick(
            sessions_table=boto3.resource("dynamodb").Table(env_str(env_names.SESSIONS_TABLE)),
            lambda_client=boto3.client("lambda"),
            worker_function=env_str(env_names.AUDIO_CONSUMER_FUNCTION),
            clock=time.time,
        ),
    )
