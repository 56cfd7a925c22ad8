"""The worker's logs and metrics: one place turns a run (or a failed stream) into them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from s3_audio_consumer.worker import WorkerRun

logger = Logger()
metrics = Metrics()


def stream_failed(counters: Any) -> dict[str, Any]:
    # Not raised: a retry of this generation can never claim the lease again. The next
    # chunk's kick starts a replacement once the lease expires; it resumes from the checkpoint.
    logger.exception("the recognition stream failed; the worker stops")
    metrics.add_metric(name="TranscribeFailures", unit=MetricUnit.Count, value=1)
    if counters is not None:
        metrics.add_metric(name="ChunkGaps", unit=MetricUnit.Count, value=counters.gaps)
        metrics.add_metric(name="DecodeFailures", unit=MetricUnit.Count, value=counters.decode_failures)
    return {"outcome": "stream_failed"}


def ran(run: WorkerRun) -> dict[str, Any]:
    metrics.add_metric(name="ChunkGaps", unit=MetricUnit.Count, value=run.gaps)
    metrics.add_metric(name="DecodeFailures", unit=MetricUnit.Count, value=run.decode_failures)
    metrics.add_metric(name="RecognitionStreams", unit=MetricUnit.Count, value=run.streams)
    metrics.add_metric(name="UtterancesHandedOn", unit=MetricUnit.Count, value=run.utterances)
    metrics.add_metric(name=f"Worker{run.outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    return {"outcome": run.outcome, "utterances": run.utterances, "streams": run.streams}
