"""AudioTranscription stack: composes the speech pipeline and its storage.

Deploy after SessionManagement: it imports the WebSocket stage and the tables,
while SessionManagement reaches audio_processor only by its deterministic name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from audio_transcription.fanout import Fanout
from audio_transcription.idempotency_store import IdempotencyStore
from audio_transcription.speech_pipeline import SpeechPipeline
from audio_transcription.transcripts import Transcripts
from infra import constants
from infra.monitoring import Monitoring
from infra.python_function import PythonFunction
from infra.secure_bucket import access_log_bucket, audio_bucket
from session_management.ffmpeg_layer import FfmpegLayer


class AudioTranscriptionStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        stage: apigw.WebSocketStage,
        management_endpoint: str,
        sessions: dynamodb.ITable,
        connections: dynamodb.ITable,
        app_origins: Sequence[str],
        alarm_email: str | None = None,
        translation_tuning: Mapping[str, str] | None = None,
        reserve_concurrency: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        access_logs = access_log_bucket(self, "AccessLogs", env_name=env_name)
        self.translation_bucket = audio_bucket(
            self,
            "TranslationBucket",
            env_name=env_name,
            access_logs=access_logs,
            log_prefix="translation-bucket/",
            cors_origins=app_origins,
        )
        idempotency = IdempotencyStore(self, "Idempotency", env_name=env_name)
        fanout = Fanout(
            self, "Fanout", env_name=env_name, stage=stage, management_endpoint=management_endpoint
        )
        pipeline = SpeechPipeline(
            self,
            "SpeechPipeline",
            env_name=env_name,
            translation_bucket=self.translation_bucket,
            sessions=sessions,
            connections=connections,
            idempotency=idempotency.table,
            stage=stage,
            management_endpoint=management_endpoint,
            translation_tuning=translation_tuning or {},
            ffmpeg_layer=FfmpegLayer(self, "ClipFfmpeg", env_name=env_name, name="ffmpeg-clips").layer,
            fanout_function=fanout.function.function.function_name,
        )
        fanout.grant_invoke(pipeline.function.role)
        self.processor = pipeline.function
        transcripts = Transcripts(
            self,
            "Transcripts",
            env_name=env_name,
            translation_bucket=self.translation_bucket,
            stage=stage,
            management_endpoint=management_endpoint,
            reserve_concurrency=reserve_concurrency,
        )

        self._monitor(alarm_email, pipeline.function, transcripts.function, fanout.function)
        CfnOutput(self, "TranslationBucketName", value=self.translation_bucket.bucket_name)
        CfnOutput(self, "AudioProcessorName", value=pipeline.function.function.function_name)

    def _monitor(
        self,
        alarm_email: str | None,
        processor: PythonFunction,
        transcripts: PythonFunction,
        fanout: PythonFunction,
    ) -> None:
        monitoring = Monitoring(self, "Monitoring", alarm_email=alarm_email)
        monitoring.watch_function("AudioProcessor", processor.function)
        if processor.failure_queue:
            monitoring.watch_failure_queue("AudioProcessor", processor.failure_queue.queue)
        monitoring.watch_handled_failures(constants.AUDIO_PROCESSOR)
        monitoring.watch_function("Transcripts", transcripts.function)
        monitoring.watch_function("Fanout", fanout.function)
        if transcripts.failure_queue:
            monitoring.watch_failure_queue("Transcripts", transcripts.failure_queue.queue)
