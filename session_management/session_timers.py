"""session-timer: ends a suspended session when its speaker has not come back in time,
and watches every live session's streaming worker.

When the speaker disconnects, connection_handler suspends the session and sends a
message to the session-timers queue, delayed by the grace period. The message becomes
visible once the grace period is over; the session-timer function then ends the
session unless the speaker has resumed it meanwhile. The chunk writer starts each
session's worker watch on the same queue (shared/worker_watch.py): a message every
few seconds that restarts a dead worker when no chunk comes to do it."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from infra.management_api import allow_posting
from infra.python_function import FunctionSpec, PythonFunction
from infra.table_access import grant_items, grant_listener_query
from lambdas.deployment import env_names, functions


@dataclass(frozen=True)
class TimerQueues:
    """The timers' queue and the dead letters of timers that kept failing."""

    dead_letters: sqs.Queue
    queue: sqs.Queue


class SessionTimers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        grace_seconds: int,
        sessions: dynamodb.ITable,
        connections: dynamodb.ITable,
        stage: apigw.IWebSocketStage,
        management_endpoint: str,
        chunk_writer: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 0 < grace_seconds <= constants.SQS_MAX_DELAY_SECONDS:
            raise ValueError(
                f"speaker grace period must be 1..{constants.SQS_MAX_DELAY_SECONDS} s "
                f"(the longest SQS delay), got {grace_seconds}"
            )
        self.grace_seconds = grace_seconds
        queues = self._queues(env_name, grace_seconds)
        self.dead_letters, self.queue = queues.dead_letters, queues.queue
        self.function = PythonFunction(
            self,
            "SessionTimer",
            env_name=env_name,
            spec=FunctionSpec(
                function=functions.SESSION_TIMER,
                description="Ends sessions whose speaker did not reconnect within the grace period",
                environment={
                    env_names.SESSIONS_TABLE: sessions.table_name,
                    env_names.CONNECTIONS_TABLE: connections.table_name,
                    env_names.API_GATEWAY_ENDPOINT: management_endpoint,
                    env_names.CHUNK_WRITER_FUNCTION: chunk_writer.function_name,
                    env_names.SPEAKER_GRACE_SECONDS: str(grace_seconds),
                },
            ),
        )
        self.function.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=constants.SESSION_TIMER_BATCH_SIZE,
                report_batch_item_failures=True,
            )
        )
        self._grant(env_name, sessions, connections, stage, chunk_writer)

    def _queues(self, env_name: str, grace_seconds: int) -> TimerQueues:
        timeout = constants.SIZES[constants.SESSION_TIMER].timeout
        dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=f"{constants.SESSION_TIMER_QUEUE_PATTERN.format(env=env_name)}-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=constants.FAILURE_QUEUE_RETENTION,
        )
        queue = sqs.Queue(
            self,
            "Queue",
            queue_name=constants.SESSION_TIMER_QUEUE_PATTERN.format(env=env_name),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # The default delay; connection_handler sets DelaySeconds on each message too.
            delivery_delay=Duration.seconds(grace_seconds),
            visibility_timeout=Duration.seconds(
                timeout.to_seconds() * constants.SESSION_TIMER_VISIBILITY_FACTOR
            ),
            retention_period=constants.SESSION_TIMER_RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letters, max_receive_count=constants.SESSION_TIMER_MAX_RECEIVES
            ),
        )
        return TimerQueues(dead_letters, queue)

    def _grant(
        self,
        env_name: str,
        sessions: dynamodb.ITable,
        connections: dynamodb.ITable,
        stage: apigw.IWebSocketStage,
        chunk_writer: lambda_.IFunction,
    ) -> None:
        role = self.function.role
        # Ending a session: a conditional status update; listeners that are gone (410) are
        # removed and uncounted (delivery/audience.py).
        sessions.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        grant_items(role, connections, "dynamodb:DeleteItem")
        grant_listener_query(role, connections)
        # Ending a session closes its chunk stream (the end-of-stream marker).
        iam.Grant.add_to_principal(
            grantee=role, actions=["lambda:InvokeFunction"], resource_arns=[chunk_writer.function_arn]
        )
        allow_posting(
            self.function,
            stage,
            env_name,
            "Listener connection ids are created at run time: the session's end is posted "
            "(POST only) to this stage's @connections/*.",
        )

    def allow_scheduling(self, scheduler: PythonFunction) -> None:
        """Lets a function start timers: queue URL, grace period and sqs:SendMessage."""
        scheduler.function.add_environment(env_names.SESSION_TIMER_QUEUE_URL, self.queue.queue_url)
        scheduler.function.add_environment(env_names.SPEAKER_GRACE_SECONDS, str(self.grace_seconds))
        self.queue.grant_send_messages(scheduler.role)

    def watch_workers(self, worker: PythonFunction, *, scheduler: PythonFunction) -> None:
        """The worker watch: `scheduler` (the chunk writer) starts a session's chain, this
        function fires each link and starts `worker` when it died."""
        self.allow_scheduling(scheduler)
        self.function.function.add_environment(
            env_names.AUDIO_CONSUMER_FUNCTION, worker.function.function_name
        )
        iam.Grant.add_to_principal(
            grantee=self.function.role,
            actions=["lambda:InvokeFunction"],
            resource_arns=[worker.function.function_arn],
        )
