"""audio_processor's real handler in process: Stubber-ed Translate and Polly clients,
moto for S3 and DynamoDB, and the management API fake (aws_fakes). The caller starts
moto (`mock_aws`) and passes its boto3 session."""

from __future__ import annotations

import itertools
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber

from audio_processor import handler, wiring
from audio_processor.aws_synthesizer import AwsSynthesizer
from audio_processor.aws_translator import AwsTranslator
from audio_processor.config import ProcessorConfig
from audio_processor.ffmpeg_audio import FfmpegAudio
from audio_processor.pipeline import Engines, PipelineSettings
from audio_processor.retry import RetryPolicy
from delivery.audience import Audience, initial_counters
from delivery.notifier import Notifier
from local.kit.aws_fakes import FakeManagementApi, create_tables
from local.paths import ffmpeg_path
from local.resources import create_idempotency_table
from shared import resources

BUCKET = "translations-test"
IDEMPOTENCY_TABLE = "Idempotency-test"
SESSION = "steady-river-1234"
SPEAKER = "speaker-conn"


def polly_response(mp3: bytes) -> dict[str, Any]:
    import io

    return {
        "AudioStream": StreamingBody(io.BytesIO(mp3), len(mp3)),
        "ContentType": "audio/mpeg",
        "RequestCharacters": 10,
    }


def encode_mp3(ffmpeg: str, pcm: bytes) -> bytes:
    """An MP3 as Polly returns it (24 kHz mono), made from real recorded speech."""
    return subprocess.run(
        [ffmpeg, "-v", "error", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "-",
         "-ar", "24000", "-b:a", "48k", "-f", "mp3", "-"],
        input=pcm, capture_output=True, check=True,
    ).stdout  # fmt: skip


class Context:
    _ids = itertools.count()

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.function_name = "audio-processor-test"
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:audio-processor-test"
        self.aws_request_id = f"req-{next(self._ids)}"
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining


def config() -> ProcessorConfig:
    return ProcessorConfig(
        sessions_table="Sessions-test",
        connections_table="Connections-test",
        idempotency_table=IDEMPOTENCY_TABLE,
        bucket=BUCKET,
        management_endpoint="https://abc.execute-api.us-east-1.amazonaws.com/test",
        region="us-east-1",
        url_seconds=600,
        engines="aws",
        terminology_names=(),
        fanout_in_flight=8,
        fanout_page_size=1000,
        fanout_function=None,
        deadline_margin_seconds=2.0,
    )


@dataclass
class Processor:
    """The real handler over moto, with fakes only where the SDK meets the network."""

    session: boto3.Session
    source_language: str = "en"
    language_workers: int = 1  # Stubber answers in call order: one language at a time
    api: FakeManagementApi = field(default_factory=FakeManagementApi)
    sleeps: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        dynamodb = self.session.resource("dynamodb")
        self.sessions, self.connections = create_tables(dynamodb)
        self.idempotency = create_idempotency_table(dynamodb, IDEMPOTENCY_TABLE)
        self.s3 = self.session.client("s3")
        self.s3.create_bucket(Bucket=BUCKET)
        self.sessions.put_item(
            Item={
                "sessionId": SESSION,
                "sourceLanguage": self.source_language,
                "speakerConnectionId": SPEAKER,
                "status": "active",
                **initial_counters(),
            }
        )
        self.translate_client = self.session.client("translate")
        self.polly_client = self.session.client("polly")
        self.translate = Stubber(self.translate_client)
        self.polly = Stubber(self.polly_client)
        self.translate.activate()
        self.polly.activate()
        engines = Engines(
            translator=AwsTranslator(self.translate_client),
            synthesizer=AwsSynthesizer(self.polly_client),
            audio=FfmpegAudio(ffmpeg_path()),
        )
        cfg = config()
        pipeline = wiring.build_pipeline(
            cfg,
            engines=engines,
            sender=Notifier(self.api, max_workers=8),
            retry=RetryPolicy(sleep=self.sleeps.append, rand=lambda: 0.5),
            settings=PipelineSettings(url_seconds=cfg.url_seconds, language_workers=self.language_workers),
        )
        self.pipeline = pipeline
        self.runtime = wiring.build_runtime(cfg, pipeline)

    def listen(self, connection_id: str, language: str) -> None:
        """A listener joined a minute ago, counted as the connection handler counts it."""
        self.connections.put_item(
            Item={
                "connectionId": connection_id,
                "role": "listener",
                "connectedAt": int((time.time() - 60) * 1000),
            }
        )
        Audience(self.sessions, self.connections, time.time).admit(connection_id, SESSION, language, None)

    def invoke(self, payload: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        result: dict[str, Any] = handler.lambda_handler(payload, context or Context(), runtime=self.runtime)
        return result

    def expect_translation(self, text: str, target: str, translated: str, source: str = "en") -> None:
        self.translate.add_response(
            "translate_text",
            {"TranslatedText": translated, "SourceLanguageCode": source, "TargetLanguageCode": target},
            {"Text": text, "SourceLanguageCode": source, "TargetLanguageCode": target},
        )

    def expect_speech(self, text: str, voice: str, engine: str, mp3: bytes, **extra: Any) -> None:
        self.polly.add_response(
            "synthesize_speech",
            polly_response(mp3),
            {
                "Text": text,
                "TextType": "text",
                "OutputFormat": "mp3",
                "VoiceId": voice,
                "Engine": engine,
                **extra,
            },
        )

    def clip(self, language: str, index: int) -> bytes:
        key = resources.translated_clip_key(SESSION, language, index)
        return bytes(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def clip_keys(self) -> list[str]:
        """The MP3 clips stored (not the utterance records kept for the transcripts)."""
        return [
            o["Key"]
            for o in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
            if o["Key"].endswith(".mp3")
        ]
