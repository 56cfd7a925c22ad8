"""The stacks' tables, buckets and queues, recreated in moto: the sessions, connections and
idempotency tables, the chunk and translation buckets, the session timers' delay queue and
the worker's queue of undelivered utterances. Chunks reach the worker by key, as on AWS:
no bucket notification is set up (the chunk writer starts the worker, shared/worker_kick.py).

Names and keys come from lambdas/shared/resources.py, the module the stacks use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared import resources


@dataclass(frozen=True)
class LocalNames:
    env: str = "local"

    @property
    def sessions_table(self) -> str:
        return resources.SESSIONS_TABLE_PATTERN.format(env=self.env)

    @property
    def connections_table(self) -> str:
        return resources.CONNECTIONS_TABLE_PATTERN.format(env=self.env)

    @property
    def idempotency_table(self) -> str:
        return f"Idempotency-{self.env}"

    @property
    def chunk_bucket(self) -> str:
        return f"low-latency-translate-chunks-{self.env}"

    @property
    def translation_bucket(self) -> str:
        return f"low-latency-translate-translations-{self.env}"

    @property
    def session_timer_queue(self) -> str:
        return f"session-timers-{self.env}"

    @property
    def undelivered_queue(self) -> str:
        return f"undelivered-utterances-{self.env}"


def _hash_key_table(dynamodb: Any, name: str, key: str, **extra: Any) -> Any:
    definitions = [{"AttributeName": key, "AttributeType": "S"}, *extra.pop("more_attributes", [])]
    return dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=definitions,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def create_sessions_table(dynamodb: Any, name: str) -> Any:
    return _hash_key_table(dynamodb, name, resources.SESSIONS_PARTITION_KEY)


def create_connections_table(dynamodb: Any, name: str) -> Any:
    return _hash_key_table(
        dynamodb,
        name,
        resources.CONNECTIONS_PARTITION_KEY,
        more_attributes=[
            {"AttributeName": resources.LISTENERS_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": resources.LISTENERS_INDEX_SORT_KEY, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": resources.LISTENERS_BY_LANGUAGE_INDEX,
                "KeySchema": [
                    {"AttributeName": resources.LISTENERS_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": resources.LISTENERS_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )


def create_idempotency_table(dynamodb: Any, name: str) -> Any:
    return _hash_key_table(dynamodb, name, resources.IDEMPOTENCY_PARTITION_KEY)


@dataclass(frozen=True)
class LocalQueues:
    session_timers: str  # the session-timer function's delay queue, as on AWS
    undelivered: str  # the worker's queue of utterances the processor would not take


def create_all(session: Any, names: LocalNames, endpoint_url: str | None = None) -> LocalQueues:
    """Creates everything; returns the queues' URLs (the runner drains the timers' queue
    into the session-timer function, as its SQS event source does on AWS)."""
    dynamodb = session.resource("dynamodb", endpoint_url=endpoint_url)
    create_sessions_table(dynamodb, names.sessions_table)
    create_connections_table(dynamodb, names.connections_table)
    create_idempotency_table(dynamodb, names.idempotency_table)
    s3 = session.client("s3", endpoint_url=endpoint_url)
    s3.create_bucket(Bucket=names.chunk_bucket)
    s3.create_bucket(Bucket=names.translation_bucket)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    timers = sqs.create_queue(QueueName=names.session_timer_queue)["QueueUrl"]
    undelivered = sqs.create_queue(QueueName=names.undelivered_queue)["QueueUrl"]
    return LocalQueues(session_timers=str(timers), undelivered=str(undelivered))


def sqs_records(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SQS messages as the records of a Lambda SQS event."""
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "eventSource": "aws:sqs",
        }
        for m in messages
    ]
