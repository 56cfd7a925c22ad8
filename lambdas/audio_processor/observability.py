"""The processor's logs and metrics (shared/observability.py's logger and metrics): one place
turns a report (or a refusal) into them.
The text of the talk stays out of the logs: talks may be confidential."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from shared.observability import logger, metrics

# The pipeline's and the sender's standard loggers (clip_fit, pipeline, fanout) write JSON
# lines with the function's keys too.
copy_config_to_registered_loggers(source_logger=logger)

STAGE_METRICS = {
    "translate": "TranslateMs",
    "synthesize": "SynthesizeMs",
    "store": "StoreMs",
    "deliver": "DeliverMs",
    "total": "BatchMs",  # the name dashboards know; one utterance's wall clock
}
COUNT_METRICS = {
    "clips": "Clips",
    "messagesSent": "MessagesSent",
    "listenersRemoved": "StaleConnectionsRemoved",
    "retries": "Retries",
}
OUTCOME_METRICS = {"empty": "EmptyTranscripts"}
# The log line that carries each report: the bench reads the reports back from it.
REPORT_LOG_MESSAGE = "utterance processed"


def refused(error: ValidationError) -> dict[str, Any]:
    """A retry cannot fix a malformed payload: log it, count it, and move on."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    logger.error("invalid utterance payload", extra={"problems": problems})
    metrics.add_metric(name="InvalidBatches", unit=MetricUnit.Count, value=1)
    return {"outcome": "invalid", "problems": problems}


def clause_reported(report: dict[str, Any]) -> dict[str, Any]:
    """A clause's provisional captions: what Translate was sent, and the posts."""
    logger.info("clause processed", extra={"report": report})
    metrics.add_metric(name="ProvisionalCaptions", unit=MetricUnit.Count, value=report["messagesSent"])
    metrics.add_metric(name="ClauseTranslatedChars", unit=MetricUnit.Count, value=report["translatedChars"])
    return report


def reported(report: dict[str, Any]) -> dict[str, Any]:
    if report["outcome"] in ("in_progress", "duplicate"):
        logger.info("this utterance was processed by another invocation; nothing is sent again")
        metrics.add_metric(name="DuplicateInvocations", unit=MetricUnit.Count, value=1)
        return report
    logger.info(
        "utterance processed", extra={"report": {k: v for k, v in report.items() if k != "sourceText"}}
    )
    for stage, name in STAGE_METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=report["timesMs"][stage])
    for field, name in COUNT_METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=report[field])
    metrics.add_metric(
        name="TranslationFailures", unit=MetricUnit.Count, value=len(report["failedLanguages"])
    )
    if report["outcome"] in OUTCOME_METRICS:
        metrics.add_metric(name=OUTCOME_METRICS[report["outcome"]], unit=MetricUnit.Count, value=1)
    for fit in report.get("fits", {}).values():  # one value per clip: clip length / source length
        metrics.add_metric(name="ClipFitRatio", unit=MetricUnit.NoUnit, value=fit["ratio"])
        metrics.add_metric(name="ClipNaturalRatio", unit=MetricUnit.NoUnit, value=fit["naturalRatio"])
    return report
