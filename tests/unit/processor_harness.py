"""Fakes at the SDK boundary for audio_processor: a Transcribe streaming client that
emits the SDK's own event objects, Stubber-ed Translate and Polly clients, moto for
S3 and DynamoDB, and the management API fake of ws_harness."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
from amazon_transcribe.model import Alternative, Result, Transcript, TranscriptEvent
from botocore.response import StreamingBody
from botocore.stub import Stubber

from audio_processor import handler
from audio_processor.aws_synthesizer import AwsSynthesizer
from audio_processor.aws_transcriber import AwsStreamingTranscriber, TranscribeSettings
from audio_processor.aws_translator import AwsTranslator
from audio_processor.config import ProcessorConfig
from audio_processor.ffmpeg_audio import FfmpegAudio
from audio_processor.pipeline import Engines, PipelineSettings
from audio_processor.retry import RetryPolicy
from local.paths import ffmpeg_path
from local.resources import create_idempotency_table
from shared import resources
from shared.audience import Audience, initial_counters
from shared.notifier import Notifier
from tests.unit.ws_harness import FakeManagementApi, create_tables

BUCKET = "translations-test"
IDEMPOTENCY_TABLE = "Idempotency-test"
SESSION = "steady-river-1234"
SPEAKER = "speaker-conn"


def final(text: str, start: float, end: float, result_id: str) -> Result:
    return Result(
        result_id=result_id,
        start_time=start,
        end_time=end,
        is_partial=False,
        alternatives=[Alternative(transcript=text, items=[], entities=None)],
    )


def partial(text: str, start: float, result_id: str) -> Result:
    return Result(
        result_id=result_id,
        start_time=start,
        end_time=start + 0.5,
        is_partial=True,
        alternatives=[Alternative(transcript=text, items=[], entities=None)],
    )


def events_for(*sentences: str) -> list[TranscriptEvent]:
    """Partials growing word by word, then the final, for each sentence in turn."""
    events: list[TranscriptEvent] = []
    for n, sentence in enumerate(sentences):
        words = sentence.split()
        for k in range(1, len(words)):
            events.append(TranscriptEvent(Transcript([partial(" ".join(words[:k]), n, f"r{n}")])))
        events.append(TranscriptEvent(Transcript([final(sentence, n, n + 1, f"r{n}")])))
    return events


class _AudioStream:
    def __init__(self, stream: _Stream) -> None:
        self._stream = stream

    async def send_audio_event(self, audio_chunk: bytes) -> None:
        self._stream.chunks.append(audio_chunk)
        await asyncio.sleep(0)

    async def end_stream(self) -> None:
        self._stream.ended.set()


class _Stream:
    def __init__(self, events: list[TranscriptEvent]) -> None:
        self.chunks: list[bytes] = []
        self.ended = asyncio.Event()
        self._events = events
        self.input_stream = _AudioStream(self)

    @property
    def output_stream(self) -> Any:
        async def results() -> Any:
            # Like the service: results while audio flows, the rest once the stream closes.
            half = len(self._events) // 2
            for event in self._events[:half]:
                yield event
            await self.ended.wait()
            for event in self._events[half:]:
                yield event

        return results()


@dataclass
class FakeTranscribeClient:
    """start_stream_transcription as the SDK's client: a stream with input and output."""

    script: list[list[TranscriptEvent] | Exception] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    streams: list[_Stream] = field(default_factory=list)

    async def start_stream_transcription(self, **kwargs: Any) -> _Stream:
        self.requests.append(kwargs)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        stream = _Stream(step)
        self.streams.append(stream)
        return stream


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
        transcribe_vocabulary=None,
        partial_results_stability=None,
        terminology_names=(),
        silence_dbfs=-55.0,
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
    transcribe: FakeTranscribeClient = field(default_factory=FakeTranscribeClient)
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
            transcriber=AwsStreamingTranscriber(lambda: self.transcribe, TranscribeSettings()),
            translator=AwsTranslator(self.translate_client),
            synthesizer=AwsSynthesizer(self.polly_client),
            audio=FfmpegAudio(ffmpeg_path()),
        )
        cfg = config()
        pipeline = handler.build_pipeline(
            cfg,
            engines=engines,
            sender=Notifier(self.api, max_workers=8),
            retry=RetryPolicy(sleep=self.sleeps.append, rand=lambda: 0.5),
            settings=PipelineSettings(url_seconds=cfg.url_seconds, language_workers=self.language_workers),
        )
        self.pipeline = pipeline
        self.runtime = handler.build_runtime(cfg, pipeline)

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
        original = handler._runtime
        handler._runtime = lambda: self.runtime  # type: ignore[assignment]
        try:
            return handler.lambda_handler(payload, context or Context())
        finally:
            handler._runtime = original  # type: ignore[assignment]

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
