"""The session's streaming worker (s3-audio-consumer): its environment, the CDK context
that moved to it from the audio processor, and its timing against Lambda's limit."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from app import build_app
from infra import constants
from session_management.audio_consumer import StreamingSettings
from tests.infrastructure.helpers import as_list, function_by_name, role_statements, text

CONSUMER = "s3-audio-consumer-dev"
PROCESSOR = "audio-processor-dev"
# Every variable the worker reads besides the tables, bucket and functions (WorkerConfig.from_env).
STREAMING_VARIABLES = (
    "RECOGNIZER",
    "TRANSCRIBE_VOCABULARY",
    "TRANSCRIBE_PARTIAL_STABILITY",
    "SEGMENT_MS",
    "WORKER_HANDOVER_SECONDS",
)


def _variables(template: Template, name: str) -> dict:
    _, function = function_by_name(template, name)
    return function["Environment"]["Variables"]


def _templates(**context: object) -> tuple[Template, Template]:
    app = cdk.App(context={**constants.FEATURE_FLAGS, "aws:cdk:bundling-stacks": [], "env": "dev", **context})
    sessions_stack, transcription_stack = build_app(app)
    return Template.from_stack(sessions_stack), Template.from_stack(transcription_stack)


def test_worker_environment_defaults(synth):
    variables = _variables(synth.sessions, CONSUMER)
    assert variables["RECOGNIZER"] == "aws"
    assert variables["TRANSCRIBE_VOCABULARY"] == ""  # no transcribeVocabulary context
    # Stabilization is on by default: the utterance cutter cuts on stable words.
    assert variables["TRANSCRIBE_PARTIAL_STABILITY"] == "high"
    assert variables["SEGMENT_MS"] == "600"
    assert variables["WORKER_HANDOVER_SECONDS"] == "720"
    assert variables["AUDIO_PROCESSOR_FUNCTION"] == PROCESSOR
    assert variables["FFMPEG_PATH"] == "/opt/bin/ffmpeg"
    assert "Ref" in variables["CHUNK_BUCKET"] and "Ref" in variables["SESSIONS_TABLE"]
    # The worker's own name comes from the Lambda context: no variable for it.
    assert CONSUMER not in text(variables)


def test_worker_code_reads_the_environment_the_stack_sets(synth, monkeypatch):
    """WorkerConfig.from_env over the synthesized variables (references stand in as text)."""
    from s3_audio_consumer.wiring import WorkerConfig

    for name, value in _variables(synth.sessions, CONSUMER).items():
        monkeypatch.setenv(name, value if isinstance(value, str) else text(value))
    config = WorkerConfig.from_env()
    assert config.recognizer == "aws"
    assert config.vocabulary is None
    assert config.stability == "high"
    assert config.segment_ms == 600
    assert config.handover_after_seconds == 720.0
    assert config.processor_function == PROCESSOR
    assert config.ffmpeg_path == "/opt/bin/ffmpeg"


def test_the_worker_may_send_to_its_undelivered_queue_and_an_alarm_watches_it(synth):
    template = synth.sessions
    variables = _variables(template, CONSUMER)
    queue_ref = variables["UNDELIVERED_QUEUE_URL"]["Ref"]
    queue = template.to_json()["Resources"][queue_ref]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    statements = role_statements(template, CONSUMER)
    sends = [s for s in statements if "sqs:SendMessage" in text(s["Action"])]
    # Only its own queues: the undelivered one and its on-failure destination.
    resources = [r["Fn::GetAtt"][0] for s in sends for r in as_list(s["Resource"])]
    assert queue_ref in resources
    assert all(template.to_json()["Resources"][r]["Type"] == "AWS::SQS::Queue" for r in resources)
    assert all(r == queue_ref or "OnFailure" in r for r in resources), resources
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    watching = [a for a in alarms.values() if queue_ref in text(a["Properties"].get("Dimensions", []))]
    assert len(watching) == 1


def test_handover_leaves_time_to_hand_over():
    """The worker stops DEADLINE_MARGIN_SECONDS before its timeout; a handover may wait
    for a pause and then for its stream to close. The longest allowed handover fits."""
    from s3_audio_consumer.handler import DEADLINE_MARGIN_SECONDS
    from s3_audio_consumer.worker import WorkerSettings

    timeout = constants.SIZES[constants.S3_AUDIO_CONSUMER].timeout.to_seconds()
    assert timeout == 900
    worker = WorkerSettings()
    longest = constants.WORKER_HANDOVER_MAX_SECONDS + worker.handover_pause_wait_s + worker.close_timeout_s
    assert longest <= timeout - DEADLINE_MARGIN_SECONDS
    assert worker.handover_after_s == constants.WORKER_HANDOVER_SECONDS


def test_context_reaches_the_worker_and_not_the_processor():
    sessions, transcription = _templates(
        transcribeVocabulary="event-vocabulary",
        transcribePartialStability="medium",
        workerHandoverSeconds="600",
        translateTerminologies="event-glossary",
    )
    worker = _variables(sessions, CONSUMER)
    assert worker["TRANSCRIBE_VOCABULARY"] == "event-vocabulary"
    assert worker["TRANSCRIBE_PARTIAL_STABILITY"] == "medium"
    assert worker["WORKER_HANDOVER_SECONDS"] == "600"
    assert "TRANSLATE_TERMINOLOGY_NAMES" not in worker
    processor = _variables(transcription, PROCESSOR)
    assert processor["TRANSLATE_TERMINOLOGY_NAMES"] == "event-glossary"
    for name in (*STREAMING_VARIABLES, "TRANSCRIBE_VOCABULARY_NAME"):
        assert name not in processor, name


def test_handover_context_from_cdk_json_may_be_a_number():
    sessions, _ = _templates(workerHandoverSeconds=60)
    assert _variables(sessions, CONSUMER)["WORKER_HANDOVER_SECONDS"] == "60"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"workerHandoverSeconds": "59"}, "workerHandoverSeconds"),
        ({"workerHandoverSeconds": "801"}, "workerHandoverSeconds"),
        ({"workerHandoverSeconds": "twelve minutes"}, "workerHandoverSeconds"),
        ({"workerHandoverSeconds": "720.5"}, "workerHandoverSeconds"),
        ({"transcribePartialStability": "none"}, "transcribePartialStability"),
        ({"transcribePartialStability": "HIGH"}, "transcribePartialStability"),
    ],
)
def test_bad_streaming_context_is_refused(context, message):
    with pytest.raises(ValueError, match=message):
        _templates(**context)


def test_streaming_settings_bounds():
    assert StreamingSettings(handover_seconds=constants.WORKER_HANDOVER_MIN_SECONDS).handover_seconds == 60
    assert StreamingSettings(handover_seconds=constants.WORKER_HANDOVER_MAX_SECONDS).handover_seconds == 800
    assert set(StreamingSettings().environment()) == set(STREAMING_VARIABLES)


def test_the_worker_may_post_to_connections_of_its_own_stage_only(synth):
    """Live words go from the worker to the speaker (partialTranscript): POST on this stage's
    @connections, and the endpoint in its environment."""
    template = synth.sessions
    variables = _variables(template, CONSUMER)
    assert "API_GATEWAY_ENDPOINT" in variables
    statements = role_statements(template, CONSUMER)
    posts = [s for s in statements if "execute-api:ManageConnections" in text(s["Action"])]
    assert len(posts) == 1, posts
    resource = text(posts[0]["Resource"])
    assert "/POST/@connections/*" in resource, resource
    assert "/GET/" not in resource and "/DELETE/" not in resource
