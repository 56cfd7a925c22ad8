"""The processor's settings, read once per cold start."""

from __future__ import annotations

from dataclasses import dataclass

from shared import env_names
from shared.config import ConfigError, env_float, env_int, env_str

AWS_ENGINES = "aws"


@dataclass(frozen=True)
class ProcessorConfig:
    sessions_table: str
    connections_table: str
    idempotency_table: str
    bucket: str
    management_endpoint: str
    region: str
    url_seconds: int
    engines: str
    transcribe_vocabulary: str | None
    partial_results_stability: str | None
    terminology_names: tuple[str, ...]
    silence_dbfs: float
    delivery_workers: int
    deadline_margin_seconds: float
    ffmpeg_path: str = "/opt/bin/ffmpeg"  # the layer's static build

    @classmethod
    def from_env(cls) -> ProcessorConfig:
        # "aws", or "package.module:factory" naming a function (config) -> Engines: the local
        # runner plugs its offline engines in this way, without the Lambda code knowing them.
        engines = env_str("SPEECH_ENGINES", AWS_ENGINES)
        if engines != AWS_ENGINES and ":" not in engines:
            raise ConfigError(f"SPEECH_ENGINES must be 'aws' or 'module:factory', got {engines!r}")
        stability = env_str("TRANSCRIBE_PARTIAL_STABILITY", "")
        if stability not in ("", "low", "medium", "high"):
            raise ConfigError("TRANSCRIBE_PARTIAL_STABILITY must be low, medium or high")
        terminologies = env_str("TRANSLATE_TERMINOLOGY_NAMES", "")
        return cls(
            sessions_table=env_str(env_names.SESSIONS_TABLE),
            connections_table=env_str(env_names.CONNECTIONS_TABLE),
            idempotency_table=env_str(env_names.IDEMPOTENCY_TABLE),
            bucket=env_str(env_names.S3_BUCKET_NAME),
            management_endpoint=env_str(env_names.API_GATEWAY_ENDPOINT),
            region=env_str("AWS_REGION"),
            url_seconds=env_int(env_names.PRESIGNED_URL_EXPIRATION, 600),
            engines=engines,
            transcribe_vocabulary=env_str("TRANSCRIBE_VOCABULARY_NAME", "") or None,
            partial_results_stability=stability or None,
            terminology_names=tuple(n.strip() for n in terminologies.split(",") if n.strip()),
            silence_dbfs=env_float("SILENCE_THRESHOLD_DBFS", -55.0),
            delivery_workers=env_int("DELIVERY_WORKERS", 32),
            deadline_margin_seconds=env_float("DEADLINE_MARGIN_SECONDS", 2.0),
            ffmpeg_path=env_str(env_names.FFMPEG_PATH, "/opt/bin/ffmpeg"),
        )
