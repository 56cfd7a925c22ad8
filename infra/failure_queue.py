"""An SQS queue that keeps the events of failed asynchronous invocations."""

from __future__ import annotations

from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from infra.nag import suppress


class FailureQueue(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=constants.FAILURE_QUEUE_RETENTION,
        )
        suppress(
            self.queue,
            "SQS3",
            "This queue is itself the on-failure destination of an async Lambda; "
            "its messages are inspected by an operator, never consumed automatically.",
        )
