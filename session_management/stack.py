"""SessionManagement stack: composes the constructs of the speaker-to-S3 path and the
sessions' streaming workers (speech recognition)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from infra.management_api import allow_posting
from infra.monitoring import Monitoring
from infra.python_function import PythonFunction, function_arn
from infra.secure_bucket import access_log_bucket, audio_bucket
from lambdas.deployment import env_names
from lambdas.shared.resources import function_name
from session_management.api_gateway_logging import ApiGatewayLogging
from session_management.audio_consumer import AudioConsumer, StreamingSettings
from session_management.chunk_writer import ChunkWriter
from session_management.connection_handling import ConnectionHandling
from session_management.ffmpeg_layer import FfmpegLayer
from session_management.session_store import SessionStore
from session_management.session_timers import SessionTimers
from session_management.speaker_identity import SpeakerIdentity
from session_management.websocket_api import WebSocketGateway


@dataclass(frozen=True)
class MonitoredFunctions:
    """The functions of this stack whose errors, throttles and failures raise alarms."""

    handler: PythonFunction
    authorizer: PythonFunction
    writer: PythonFunction
    consumer: PythonFunction
    undelivered: sqs.IQueue  # the worker's utterances the processor would not take


class SessionManagementStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        alarm_email: str | None = None,
        listener_base_url: str = "",
        manage_api_gateway_log_role: bool = False,
        speaker_grace_seconds: int = constants.SPEAKER_GRACE_SECONDS,
        reserve_concurrency: bool = True,
        streaming: StreamingSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.env_name = env_name
        store = SessionStore(self, "SessionStore", env_name=env_name)
        self.sessions_table = store.sessions
        self.connections_table = store.connections
        identity = SpeakerIdentity(self, "SpeakerIdentity", env_name=env_name)
        access_logs = access_log_bucket(self, "AccessLogs", env_name=env_name)
        self.chunk_bucket = audio_bucket(
            self, "ChunkBucket", env_name=env_name, access_logs=access_logs, log_prefix="chunk-bucket/"
        )
        handling = ConnectionHandling(
            self,
            "ConnectionHandling",
            env_name=env_name,
            sessions=store.sessions,
            connections=store.connections,
            user_pool=identity.user_pool,
            app_client=identity.app_client,
            reserve_concurrency=reserve_concurrency,
        )
        self.gateway = self._gateway(handling, manage_api_gateway_log_role)
        writer = ChunkWriter(
            self, "ChunkWriter", env_name=env_name, bucket=self.chunk_bucket, sessions=store.sessions
        )
        consumer = AudioConsumer(
            self,
            "AudioConsumer",
            env_name=env_name,
            bucket=self.chunk_bucket,
            sessions=store.sessions,
            ffmpeg_layer=FfmpegLayer(self, "Ffmpeg", env_name=env_name).layer,
            streaming=streaming,
        )
        self._wire_handler(handling.handler, writer.function, listener_base_url)
        self._wire_live_words(consumer.function)
        timers = self._timers(store, writer.function, speaker_grace_seconds)
        timers.allow_scheduling(handling.handler)
        timers.watch_workers(consumer.function, scheduler=writer.function)
        self._allow_broadcasts(handling.handler, timers.function)
        self._monitor(
            alarm_email,
            MonitoredFunctions(
                handling.handler,
                handling.authorizer,
                writer.function,
                consumer.function,
                consumer.undelivered.queue,
            ),
            timers,
        )
        self._outputs(identity, timers)

    def _gateway(self, handling: ConnectionHandling, manage_log_role: bool) -> WebSocketGateway:
        gateway = WebSocketGateway(
            self,
            "WebSocket",
            env_name=self.env_name,
            handler=handling.handler.function,
            authorizer=handling.authorizer.function,
        )
        if manage_log_role:  # the account's API Gateway logging role, made by this stack
            logging = ApiGatewayLogging(self, "ApiGatewayLogging")
            gateway.stage.node.add_dependency(logging.account)
        return gateway

    def _wire_handler(self, handler: PythonFunction, writer: PythonFunction, listener_base_url: str) -> None:
        """The connection handler's peers: the management API, the chunk writer and the
        transcripts function (in AudioTranscription, deployed after this stack: by its name)."""
        function = handler.function
        function.add_environment(env_names.API_GATEWAY_ENDPOINT, self.gateway.management_endpoint)
        function.add_environment(env_names.CHUNK_WRITER_FUNCTION, writer.function.function_name)
        function.add_environment(env_names.LISTENER_BASE_URL, listener_base_url)
        function.add_environment(
            env_names.TRANSCRIPTS_FUNCTION, function_name(constants.TRANSCRIPTS, self.env_name)
        )
        iam.Grant.add_to_principal(
            grantee=handler.role,
            actions=["lambda:InvokeFunction"],
            resource_arns=[
                writer.function.function_arn,
                function_arn(self, constants.TRANSCRIPTS, self.env_name),
            ],
        )
        allow_posting(
            handler,
            self.gateway.stage,
            self.env_name,
            "Connection ids are created at run time: replies are posted (POST only) to this "
            "stage's @connections/*.",
        )

    def _wire_live_words(self, consumer: PythonFunction) -> None:
        """The worker posts the running utterance's words to the speaker (partialTranscript,
        docs/ARCHITECTURE.md §15): POST to this stage's connections, nothing else."""
        consumer.function.add_environment(env_names.API_GATEWAY_ENDPOINT, self.gateway.management_endpoint)
        allow_posting(
            consumer,
            self.gateway.stage,
            self.env_name,
            "The speaker's connection id is known at run time: the worker posts (POST only) its live "
            "words to this stage's @connections/*.",
        )

    def _timers(self, store: SessionStore, writer: PythonFunction, grace_seconds: int) -> SessionTimers:
        timers = SessionTimers(
            self,
            "SessionTimers",
            env_name=self.env_name,
            grace_seconds=grace_seconds,
            sessions=store.sessions,
            connections=store.connections,
            stage=self.gateway.stage,
            management_endpoint=self.gateway.management_endpoint,
            chunk_writer=writer.function,
        )
        # The timer re-schedules itself when it fires before the grace period is over
        # (clock skew), through the same runtime as the handler.
        timers.allow_scheduling(timers.function)
        return timers

    def _allow_broadcasts(self, *broadcasters: PythonFunction) -> None:
        """A broadcast to a session's listeners (pause, resume, end) is posted in pages by the
        fan-out function, which lives in AudioTranscription (deployed after this stack): by name."""
        for broadcaster in broadcasters:
            broadcaster.function.add_environment(
                env_names.FANOUT_FUNCTION, function_name(constants.FANOUT, self.env_name)
            )
            iam.Grant.add_to_principal(
                grantee=broadcaster.role,
                actions=["lambda:InvokeFunction"],
                resource_arns=[function_arn(self, constants.FANOUT, self.env_name)],
            )

    def _monitor(self, alarm_email: str | None, functions: MonitoredFunctions, timers: SessionTimers) -> None:
        monitoring = Monitoring(self, "Monitoring", alarm_email=alarm_email)
        for name, function in (
            ("ConnectionHandler", functions.handler),
            ("Authorizer", functions.authorizer),
            ("ChunkWriter", functions.writer),
            ("AudioConsumer", functions.consumer),
            ("SessionTimer", timers.function),
        ):
            monitoring.watch_function(name, function.function)
            if function.failure_queue:
                monitoring.watch_failure_queue(name, function.failure_queue.queue)
        monitoring.watch_failure_queue(
            "UndeliveredUtterances",
            functions.undelivered,
            "The audio processor refused utterances (invoke failed after retries): listeners missed "
            "them; redrive the queue's requestPayload to the processor",
        )
        monitoring.watch_failure_queue(
            "SessionTimer",
            timers.dead_letters,
            f"A session timer failed {constants.SESSION_TIMER_MAX_RECEIVES} times: that session "
            "may stay suspended until its TTL",
        )
        monitoring.watch_queue_backlog(
            "SessionTimer",
            timers.queue,
            "Due session timers waited a whole period unreceived: session-timer is throttled, "
            "failing or its event source mapping is disabled",
        )
        monitoring.watch_handled_failures(
            constants.CONNECTION_HANDLER,
            constants.S3_AUDIO_CONSUMER,
            constants.CHUNK_WRITER,
            constants.SESSION_TIMER,
        )

    def _outputs(self, identity: SpeakerIdentity, timers: SessionTimers) -> None:
        CfnOutput(self, "WebSocketUrl", value=self.gateway.stage.url)
        CfnOutput(self, "ManagementEndpoint", value=self.gateway.management_endpoint)
        CfnOutput(self, "UserPoolId", value=identity.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=identity.app_client.user_pool_client_id)
        CfnOutput(self, "ChunkBucketName", value=self.chunk_bucket.bucket_name)
        CfnOutput(self, "SessionTimerQueueUrl", value=timers.queue.queue_url)
