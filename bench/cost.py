"""Cost of one session-hour on AWS, from list prices and measured durations.

    .venv/bin/python -m bench.cost [--languages 3] [--listeners 100] [--batch-seconds 3]

Every price is in PRICES with the date it was read; every usage figure is a named
assumption or a measurement, so each line of the bill can be checked and changed."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, field

# us-east-1 on-demand list prices (USD) of the AWS pricing pages, first tier, as this
# project knew them on 2026-11-22 (this machine cannot query the AWS Price List API:
# check them before you rely on a figure). docs/COSTS.md lists them with their sources.
PRICES_DATE = "2026-11-22"
PRICES: dict[str, float] = {
    "transcribe_streaming_per_minute": 0.024,  # billed per second, 15 s minimum per request
    "transcribe_minimum_seconds_per_request": 15,
    "translate_per_million_chars": 15.0,
    "polly_neural_per_million_chars": 16.0,
    "polly_standard_per_million_chars": 4.0,
    "lambda_per_gb_second_x86": 0.0000166667,
    "lambda_per_million_requests": 0.20,
    "apigw_ws_per_million_messages": 1.00,  # metered in 32 KB units
    "apigw_ws_per_million_connection_minutes": 0.25,
    "s3_put_per_thousand": 0.005,
    "s3_get_per_thousand": 0.0004,
    "data_transfer_out_per_gb": 0.09,
    "dynamodb_per_million_write_units": 0.625,
    "dynamodb_per_million_read_units": 0.125,
    # CloudFront in front of the clip bucket (US/Europe, first 10 TB; S3 -> CloudFront is free).
    "cloudfront_data_transfer_out_per_gb": 0.085,
    "cloudfront_https_per_ten_thousand": 0.01,
}

SEED_CLAIM_USD_PER_SESSION_HOUR = 1.52


@dataclass(frozen=True)
class Usage:
    """What one session-hour does. Defaults: a talk with pauses, English source."""

    target_languages: int = 1
    listeners: int = 100
    batch_seconds: float = 3.0
    speech_fraction: float = 0.9  # batches with speech; silent ones stop before Transcribe
    chars_per_speech_minute: float = 900.0  # ~150 words a minute
    source_among_targets: bool = False  # a target equal to the source skips Translate
    polly_engine: str = "neural"
    chunk_seconds: float = 0.3  # MediaRecorder chunk period measured in Chromium
    clip_bytes_per_second: float = 6_000.0  # Polly MP3 (24 kHz, ~48 kbps)
    # Measured Lambda durations (ms) and memory (MB); processor = ours + the services'.
    connection_handler_ms: float = 25.0
    chunk_writer_ms: float = 20.0
    consumer_ms: float = 60.0
    processor_ms: float = 1500.0
    memory_mb: dict[str, int] = field(
        default_factory=lambda: {
            "connection_handler": 512,
            "chunk_writer": 256,
            "consumer": 1024,
            "processor": 1024,
        }
    )


def _polly_rate(engine: str, p: dict[str, float]) -> float:
    key = "polly_neural_per_million_chars" if engine == "neural" else "polly_standard_per_million_chars"
    return p[key]


def session_hour_cost(usage: Usage, prices: dict[str, float] | None = None) -> dict[str, float]:
    """USD per session-hour by line item, and the total."""
    p = prices or PRICES
    batches = 3600 / usage.batch_seconds
    speech_batches = batches * usage.speech_fraction
    chunks = 3600 / usage.chunk_seconds
    chars = usage.chars_per_speech_minute * 60 * usage.speech_fraction
    translated_languages = usage.target_languages - (1 if usage.source_among_targets else 0)
    billed_seconds = max(usage.batch_seconds, p["transcribe_minimum_seconds_per_request"])
    clip_bytes = usage.clip_bytes_per_second * usage.batch_seconds

    lambda_gb_seconds = (
        chunks * usage.connection_handler_ms / 1000 * usage.memory_mb["connection_handler"] / 1024
        + chunks * usage.chunk_writer_ms / 1000 * usage.memory_mb["chunk_writer"] / 1024
        + chunks * usage.consumer_ms / 1000 * usage.memory_mb["consumer"] / 1024
        + batches * usage.processor_ms / 1000 * usage.memory_mb["processor"] / 1024
    )
    lambda_requests = chunks * 3 + batches  # handler, writer, consumer per chunk; processor per batch
    outbound_messages = speech_batches * (usage.listeners + 1)  # clips + the speaker's transcript
    inbound_messages = chunks
    # DynamoDB: per chunk the seq/rate update, the connection read and the consumer's cursor;
    # per batch the listener query (keys only, ~100 B each), idempotency and ledger writes.
    write_units = chunks * 2 + batches * (2 + usage.target_languages + 1)
    read_units = chunks * 1.5 + batches * (1 + math.ceil(usage.listeners * 100 / 4096))

    polly_rate = _polly_rate(usage.polly_engine, p)
    lines = {
        "transcribe": speech_batches * billed_seconds / 60 * p["transcribe_streaming_per_minute"],
        "translate": chars * translated_languages / 1e6 * p["translate_per_million_chars"],
        "polly": chars * usage.target_languages / 1e6 * polly_rate,
        "lambda": lambda_gb_seconds * p["lambda_per_gb_second_x86"]
        + lambda_requests / 1e6 * p["lambda_per_million_requests"],
        "api_gateway": (inbound_messages + outbound_messages) / 1e6 * p["apigw_ws_per_million_messages"]
        + (usage.listeners + 1) * 60 / 1e6 * p["apigw_ws_per_million_connection_minutes"],
        "s3_requests": (chunks + speech_batches * usage.target_languages) / 1000 * p["s3_put_per_thousand"]
        + (chunks + speech_batches * usage.listeners) / 1000 * p["s3_get_per_thousand"],
        "data_transfer": speech_batches * usage.listeners * clip_bytes / 1e9 * p["data_transfer_out_per_gb"],
        "dynamodb": write_units / 1e6 * p["dynamodb_per_million_write_units"]
        + read_units / 1e6 * p["dynamodb_per_million_read_units"],
    }
    lines = {k: round(v, 4) for k, v in lines.items()}
    lines["total"] = round(sum(lines.values()), 4)
    return lines


@dataclass(frozen=True)
class StreamingUsage:
    """One session-hour with utterance streaming (docs/ARCHITECTURE.md §6): one Transcribe
    stream per worker, handed over every `handover_seconds`; one processor invocation per
    utterance."""

    target_languages: int = 1
    listeners: int = 100
    handover_seconds: float = 720.0
    idle_restarts_per_hour: int = 0  # streams closed after 10 s without audio, reopened later
    speech_fraction: float = 0.9
    utterance_seconds: float = 4.0  # measured on the keynote capture: median VAD piece ~4.4 s
    chars_per_speech_minute: float = 900.0
    source_among_targets: bool = False
    polly_engine: str = "neural"
    chunk_seconds: float = 0.3
    segment_seconds: float = 0.6  # the worker's PCM segments (one cursor claim each)
    poll_seconds: float = 0.1  # the worker's GET for the next chunk
    clip_bytes_per_second: float = 6_000.0
    connection_handler_ms: float = 25.0
    chunk_writer_ms: float = 25.0  # + the lease read of the kick
    processor_ms: float = 1200.0  # no transcription any more: translate, speak, store, deliver
    worker_memory_mb: int = 1024
    # Delivery (delivery/fanout.py): pages of `page_size` listeners; the processor posts the first
    # page of each language, a fan-out invocation (1,769 MB) each further one. CPU per post
    # measured by bench/fanout_sim.py on this project's 2-core machine: ~0.23 ms since posts
    # are signed with a cached signing key (delivery/sigv4.py; ~0.45 ms with botocore's signer).
    page_size: int = 1000
    post_cpu_ms: float = 0.23
    fanout_memory_mb: int = 1769
    fanout_invocation_overhead_ms: float = 20.0
    memory_mb: dict[str, int] = field(
        default_factory=lambda: {"connection_handler": 512, "chunk_writer": 256, "processor": 1024}
    )
    # Live text (docs/ARCHITECTURE.md §15). Clauses shown per utterance: on the keynote,
    # clauses of at least 4 words before an utterance's last are ~1 per utterance of the
    # offline recognizer's (at most 7 s); each is one processor invocation (~0.3 s), one post
    # per listener and two conditional writes per language (the kept translation, the slot).
    clauses_per_utterance: float = 1.0
    clause_ms: float = 300.0
    # Translate characters live text adds: clauses are reused by the final caption, so only
    # the clauses of an utterance whose recognition restarted mid-way (a crash) and retried
    # invocations racing each other count; measured on the keynote: 0 (tests/integration).
    extra_translate_fraction: float = 0.0
    # The speaker's partialTranscript: at most one per 0.7 s of speech, when the words grew.
    partials_per_speech_second: float = 1 / 0.7

    @property
    def recognition_streams(self) -> int:
        return math.ceil(3600 / self.handover_seconds) + self.idle_restarts_per_hour


@dataclass(frozen=True)
class DeliveryPages:
    """Per utterance: posts the processor makes, and the fan-out invocations for the rest."""

    posted_here: int
    fanout_invocations: int
    fanout_ms: float  # billed fan-out duration, all invocations


def delivery_pages(usage: StreamingUsage) -> DeliveryPages:
    per_language = math.ceil(usage.listeners / max(1, usage.target_languages))
    first = min(per_language, usage.page_size)
    rest = per_language - first
    invocations = math.ceil(rest / usage.page_size) * usage.target_languages
    return DeliveryPages(
        posted_here=first * usage.target_languages,
        fanout_invocations=invocations,
        fanout_ms=rest * usage.target_languages * usage.post_cpu_ms
        + invocations * usage.fanout_invocation_overhead_ms,
    )


@dataclass(frozen=True)
class ClipDelivery:
    """Listeners fetching clips from S3 directly (presigned URLs) vs through CloudFront."""

    s3_direct: float
    cloudfront: float

    @property
    def saving(self) -> float:
        return round(self.s3_direct - self.cloudfront, 4)


def clip_delivery_cost(usage: StreamingUsage, prices: dict[str, float] | None = None) -> ClipDelivery:
    """USD per session-hour of the clip downloads alone: one GET per clip per listener."""
    p = prices or PRICES
    speech_seconds = 3600 * usage.speech_fraction
    fetches = speech_seconds / usage.utterance_seconds * usage.listeners
    gigabytes = speech_seconds * usage.listeners * usage.clip_bytes_per_second / 1e9
    s3 = gigabytes * p["data_transfer_out_per_gb"] + fetches / 1000 * p["s3_get_per_thousand"]
    # Every listener of a language fetches the same object: CloudFront would fetch it from
    # S3 about once per edge (negligible), but bills every request and byte it serves.
    cloudfront = (
        gigabytes * p["cloudfront_data_transfer_out_per_gb"]
        + fetches / 10_000 * p["cloudfront_https_per_ten_thousand"]
    )
    return ClipDelivery(s3_direct=round(s3, 4), cloudfront=round(cloudfront, 4))


def streaming_session_hour_cost(
    usage: StreamingUsage, prices: dict[str, float] | None = None
) -> dict[str, float]:
    """USD per session-hour by line item with one stream per session, and the total."""
    p = prices or PRICES
    streams = usage.recognition_streams
    stream_seconds = 3600 / streams
    billed_seconds = streams * max(stream_seconds, p["transcribe_minimum_seconds_per_request"])
    chunks = 3600 / usage.chunk_seconds
    speech_seconds = 3600 * usage.speech_fraction
    utterances = speech_seconds / usage.utterance_seconds
    chars = usage.chars_per_speech_minute * 60 * usage.speech_fraction
    translated_languages = usage.target_languages - (1 if usage.source_among_targets else 0)
    m = usage.memory_mb
    pages = delivery_pages(usage)
    lambda_gb_seconds = (
        chunks * usage.connection_handler_ms / 1000 * m["connection_handler"] / 1024
        + chunks * usage.chunk_writer_ms / 1000 * m["chunk_writer"] / 1024
        + 3600 * usage.worker_memory_mb / 1024  # the worker runs the whole hour
        + utterances
        * (usage.processor_ms + pages.posted_here * usage.post_cpu_ms)
        / 1000
        * m["processor"]
        / 1024
        + utterances * pages.fanout_ms / 1000 * usage.fanout_memory_mb / 1024
    )
    clauses = utterances * usage.clauses_per_utterance
    lambda_gb_seconds += clauses * usage.clause_ms / 1000 * m["processor"] / 1024
    lambda_requests = chunks * 2 + streams + utterances * (1 + pages.fanout_invocations) + clauses
    outbound_messages = (
        utterances * (usage.listeners + 1)
        + clauses * usage.listeners
        + speech_seconds * usage.partials_per_speech_second
    )
    # DynamoDB: per chunk the rate counter, lastSeq and the kick's lease read; the
    # worker's heartbeat (1/s), one cursor claim per segment and a checkpoint per utterance.
    write_units = (
        chunks * 2
        + 3600
        + 3600 / usage.segment_seconds
        + utterances * (1 + usage.target_languages + 1)
        + clauses * 2 * usage.target_languages
    )
    read_units = chunks * 2 + 3600 / usage.segment_seconds
    polly_rate = _polly_rate(usage.polly_engine, p)
    gets = 3600 / usage.poll_seconds + chunks + utterances * usage.listeners  # polls, chunk reads, clips
    lines = {
        "transcribe": billed_seconds / 60 * p["transcribe_streaming_per_minute"],
        "translate": chars
        * (1 + usage.extra_translate_fraction)
        * translated_languages
        / 1e6
        * p["translate_per_million_chars"],
        "polly": chars * usage.target_languages / 1e6 * polly_rate,
        "lambda": lambda_gb_seconds * p["lambda_per_gb_second_x86"]
        + lambda_requests / 1e6 * p["lambda_per_million_requests"],
        "api_gateway": (chunks + outbound_messages) / 1e6 * p["apigw_ws_per_million_messages"]
        + (usage.listeners + 1) * 60 / 1e6 * p["apigw_ws_per_million_connection_minutes"],
        "s3_requests": (chunks + utterances * usage.target_languages) / 1000 * p["s3_put_per_thousand"]
        + gets / 1000 * p["s3_get_per_thousand"],
        "data_transfer": speech_seconds
        * usage.listeners
        * usage.clip_bytes_per_second
        / 1e9
        * p["data_transfer_out_per_gb"],
        "dynamodb": write_units / 1e6 * p["dynamodb_per_million_write_units"]
        + read_units / 1e6 * p["dynamodb_per_million_read_units"],
    }
    lines = {k: round(v, 4) for k, v in lines.items()}
    lines["total"] = round(sum(lines.values()), 4)
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--languages", type=int, default=1)
    parser.add_argument("--listeners", type=int, default=100)
    parser.add_argument("--batch-seconds", type=float, default=3.0)
    args = parser.parse_args()
    usage = Usage(target_languages=args.languages, listeners=args.listeners, batch_seconds=args.batch_seconds)
    streaming = StreamingUsage(target_languages=args.languages, listeners=args.listeners)
    report = {
        "utterance_streaming": {
            "recognition_streams_per_session_hour": streaming.recognition_streams,
            "usd_per_session_hour": streaming_session_hour_cost(streaming),
            "clip_downloads_s3_vs_cloudfront": asdict(clip_delivery_cost(streaming)),
        },
        "fixed_batches_before": {"usage": asdict(usage), "usd_per_session_hour": session_hour_cost(usage)},
    }
    print(json.dumps(report, indent=2))
