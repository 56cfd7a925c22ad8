"""Alarms on handled failures: Powertools EMF metrics the functions emit themselves."""

from __future__ import annotations

import pytest

from infra import constants
from tests.infrastructure.helpers import function_by_name, resources, text

# (metric, service, threshold): what the Lambda code emits (see lambdas/*/handler.py).
EXPECTED = {
    "sessions": [
        ("InternalErrors", "connection-handler", 1),
        ("DecodeFailures", "s3-audio-consumer", 1),
        ("ChunkGaps", "s3-audio-consumer", 3),
        ("RejectedChunks", "chunk-writer", 1),
        ("MalformedTimers", "session-timer", 1),
        ("TranscribeFailures", "s3-audio-consumer", 1),
    ],
    "transcription": [
        ("TranslationFailures", "audio-processor", 3),
    ],
}


def _emf_alarms(template):
    return [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == constants.PROJECT
    ]


@pytest.mark.parametrize("stack", ["sessions", "transcription"])
def test_handled_failure_alarms(synth, stack):
    template = getattr(synth, stack)
    alarms = {a["MetricName"]: a for a in _emf_alarms(template)}
    assert set(alarms) == {metric for metric, _, _ in EXPECTED[stack]}
    for metric, service, threshold in EXPECTED[stack]:
        alarm = alarms[metric]
        assert alarm["Namespace"] == "low-latency-translate"
        # Exactly the dimension set Powertools Metrics emits: service = POWERTOOLS_SERVICE_NAME.
        assert alarm["Dimensions"] == [{"Name": "service", "Value": service}], metric
        assert alarm["Threshold"] == threshold, metric
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["Statistic"] == "Sum" and alarm["Period"] == 300 and alarm["EvaluationPeriods"] == 1
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"], metric
        assert metric in alarm["AlarmDescription"] and len(alarm["AlarmDescription"]) >= 60


@pytest.mark.parametrize("stack", ["sessions", "transcription"])
def test_alarm_dimensions_name_a_function_of_the_stack(synth, stack):
    template = getattr(synth, stack)
    for alarm in _emf_alarms(template):
        service = alarm["Dimensions"][0]["Value"]
        _, function = function_by_name(template, f"{service}-dev")
        assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == service
        assert function["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == alarm["Namespace"]


def test_every_threshold_has_a_reason():
    for spec in constants.HANDLED_FAILURE_ALARMS:
        assert spec.threshold >= 1 and len(spec.reason) >= 40, spec


def test_timer_queues_are_alarmed(synth):
    alarms = resources(synth.sessions, "AWS::CloudWatch::Alarm").values()
    by_queue = {
        text(a["Properties"]["Dimensions"]): a["Properties"]
        for a in alarms
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    dead = next(p for d, p in by_queue.items() if "SessionTimersDeadLetters" in d)
    assert dead["Threshold"] == 1 and dead["Statistic"] == "Maximum"
    backlog = next(p for d, p in by_queue.items() if "SessionTimersQueue" in d)
    # Minimum: a message left visible for the whole period, not one on its way to the poller.
    assert backlog["Threshold"] == 1 and backlog["Statistic"] == "Minimum"
