"""The worker's metrics (shared/observability.py's): one place turns a run into them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from s3_audio_consumer.worker import WorkerRun
from shared.observability import metrics


def ran(run: WorkerRun) -> dict[str, Any]:
    metrics.add_metric(name="ChunkGaps", unit=MetricUnit.Count, value=run.gaps)
    metrics.add_metric(name="DecodeFailures", unit=MetricUnit.Count, value=run.decode_failures)
    metrics.add_metric(name="RecognitionStreams", unit=MetricUnit.Count, value=run.streams)
    metrics.add_metric(name="UtterancesHandedOn", unit=MetricUnit.Count, value=run.utterances)
    metrics.add_metric(name="HandOffRetries", unit=MetricUnit.Count, value=run.hand_off_retries)
    metrics.add_metric(name="StreamCloseTimeouts", unit=MetricUnit.Count, value=run.close_timeouts)
    metrics.add_metric(name="UndeliveredUtterances", unit=MetricUnit.Count, value=run.undelivered)
    metrics.add_metric(name="MissedAudio", unit=MetricUnit.Seconds, value=run.missed_ms / 1000)
    if run.outcome in ("stream_failed", "hand_off_failed"):
        metrics.add_metric(name="WorkerFailures", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"Worker{run.outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    return {"outcome": run.outcome, "utterances": run.utterances, "streams": run.streams}
