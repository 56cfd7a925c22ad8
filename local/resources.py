"""The stacks' tables, buckets and S3 notification, recreated in moto.

Names and keys come from lambdas/shared/resources.py, the module the stacks use."""

from __future__ import annotations

import json
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
    def chunk_events_queue(self) -> str:
        return f"chunk-events-{self.env}"

    @property
    def session_timer_queue(self) -> str:
        return f"session-timers-{self.env}"


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
    chunk_events: str  # S3 ObjectCreated events of the chunk bucket (for the consumer)
    session_timers: str  # the session-timer function's delay queue, as on AWS


def create_all(session: Any, names: LocalNames, endpoint_url: str | None = None) -> LocalQueues:
    """Creates everything; returns the URLs of the queues the runner drains."""
    dynamodb = session.resource("dynamodb", endpoint_url=endpoint_url)
    create_sessions_table(dynamodb, names.sessions_table)
    create_connections_table(dynamodb, names.connections_table)
    create_idempotency_table(dynamodb, names.idempotency_table)
    s3 = session.client("s3", endpoint_url=endpoint_url)
    s3.create_bucket(Bucket=names.chunk_bucket)
    s3.create_bucket(Bucket=names.translation_bucket)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    queue_url = sqs.create_queue(QueueName=names.chunk_events_queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # Same filter as the stack's S3 -> Lambda notification; a queue stands in for the
    # direct invoke, which moto can only do with Docker.
    s3.put_bucket_notification_configuration(
        Bucket=names.chunk_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": resources.CHUNK_KEY_PREFIX},
                                {"Name": "suffix", "Value": resources.CHUNK_KEY_SUFFIX},
                            ]
                        }
                    },
                }
            ]
        },
    )
    timers = sqs.create_queue(QueueName=names.session_timer_queue)["QueueUrl"]
    return LocalQueues(chunk_events=str(queue_url), session_timers=str(timers))


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


def s3_records(message_body: str) -> list[dict[str, Any]]:
    """The S3 event records in one queue message (none for s3:TestEvent)."""
    body = json.loads(message_body)
    return list(body.get("Records", []))
