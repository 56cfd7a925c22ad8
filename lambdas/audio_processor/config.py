"""The processor's settings, read once per cold start."""

from __future__ import annotations

from dataclasses import dataclass

from deployment import env_names
from deployment.config import ConfigError, env_float, env_int, env_str

AWS_ENGINES = env_names.AWS_ADAPTERS


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
    terminology_names: tuple[str, ...]
    fanout_in_flight: int
    fanout_page_size: int
    fanout_function: str | None
    deadline_margin_seconds: float
    ffmpeg_path: str = "/opt/bin/ffmpeg"  # the layer's static build

    @classmethod
    def from_env(cls) -> ProcessorConfig:
        # "aws", or "package.module:factory" naming a function (config) -> Engines: the local
        # runner plugs its offline engines in this way, without the Lambda code knowing them.
        engines = env_str(env_names.SPEECH_ENGINES, AWS_ENGINES)
        if engines != AWS_ENGINES and ":" not in engines:
            raise ConfigError(f"SPEECH_ENGINES must be 'aws' or 'module:factory', got {engines!r}")
        terminologies = env_str(env_names.TRANSLATE_TERMINOLOGY_NAMES, "")
        return cls(
            sessions_table=env_str(env_names.SESSIONS_TABLE),
            connections_table=env_str(env_names.CONNECTIONS_TABLE),
            idempotency_table=env_str(env_names.IDEMPOTENCY_TABLE),
            bucket=env_str(env_names.S3_BUCKET_NAME),
            management_endpoint=env_str(env_names.API_GATEWAY_ENDPOINT),
            region=env_str(env_names.AWS_REGION),
            url_seconds=env_int(env_names.PRESIGNED_URL_EXPIRATION, 600),
            engines=engines,
            terminology_names=tuple(n.strip() for n in terminologies.split(",") if n.strip()),
            # 5,000 listeners x 40 ms: 250 in flight per page of 1,000 posts a page in ~0.2 s.
            fanout_in_flight=env_int(env_names.FANOUT_IN_FLIGHT, 250),
            fanout_page_size=env_int(env_names.FANOUT_PAGE_SIZE, 1000),
            fanout_function=env_str(env_names.FANOUT_FUNCTION, "") or None,
            deadline_margin_seconds=env_float(env_names.DEADLINE_MARGIN_SECONDS, 2.0),
            ffmpeg_path=env_str(env_names.FFMPEG_PATH, "/opt/bin/ffmpeg"),
        )
