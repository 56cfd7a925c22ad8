"""The session-timers queue and the session-timer function (speaker grace period)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from app import build_app
from infra import constants
from lambdas.deployment import env_names
from tests.infrastructure.helpers import (
    TRACING,
    actions_on,
    function_by_name,
    post_to_connections,
    resource_id,
    resources,
    role_statements,
    text,
)

TIMER = "session-timer-dev"


def _queues(synth):
    queues = resources(synth.sessions, "AWS::SQS::Queue")
    timer = resource_id(synth.sessions, "AWS::SQS::Queue", "SessionTimersQueue")
    dead = resource_id(synth.sessions, "AWS::SQS::Queue", "SessionTimersDeadLetters")
    return timer, queues[timer]["Properties"], dead, queues[dead]["Properties"]


def test_timer_queue_is_encrypted_with_a_dead_letter_queue(synth):
    _, queue, dead_id, dead = _queues(synth)
    timeout = constants.SIZES[constants.SESSION_TIMER].timeout.to_seconds()
    assert queue["QueueName"] == "session-timers-dev"
    assert queue["SqsManagedSseEnabled"] is True and dead["SqsManagedSseEnabled"] is True
    assert "KmsMasterKeyId" not in queue
    assert queue["VisibilityTimeout"] >= 6 * timeout
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queue["DelaySeconds"] == constants.SPEAKER_GRACE_SECONDS
    # A dead timer is kept long enough to be looked at.
    assert dead["MessageRetentionPeriod"] >= queue["MessageRetentionPeriod"]


def test_timer_queues_deny_plain_http(synth):
    timer, _, dead, _ = _queues(synth)
    secured = set()
    for policy in resources(synth.sessions, "AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            s["Effect"] == "Deny"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and s["Principal"] == {"AWS": "*"}
            for s in statements
        ):
            secured.update(q["Ref"] for q in policy["Properties"]["Queues"])
    assert {timer, dead} <= secured


def test_timer_function_size_and_handler(synth):
    _, function = function_by_name(synth.sessions, TIMER)
    assert function["Handler"] == "connection_handler.timers.lambda_handler"
    assert function["MemorySize"] == 256 and function["Timeout"] == 30
    assert "ReservedConcurrentExecutions" not in function
    _, handler = function_by_name(synth.sessions, "connection-handler-dev")
    # One bundle (lambdas/connection_handler + shared) serves both functions.
    assert function["Code"] == handler["Code"]


def test_timer_is_triggered_by_its_queue_with_partial_batch_failures(synth):
    timer_queue, _, _, _ = _queues(synth)
    function_id, _ = function_by_name(synth.sessions, TIMER)
    mappings = [
        m["Properties"]
        for m in resources(synth.sessions, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert mappings == [
        {
            "BatchSize": 10,
            "EventSourceArn": {"Fn::GetAtt": [timer_queue, "Arn"]},
            "FunctionName": {"Ref": function_id},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Tags": mappings[0]["Tags"],
        }
    ]


def test_timer_environment(synth):
    timer_queue, _, _, _ = _queues(synth)
    _, function = function_by_name(synth.sessions, TIMER)
    _, handler = function_by_name(synth.sessions, "connection-handler-dev")
    variables = function["Environment"]["Variables"]
    writer_id, _ = function_by_name(synth.sessions, "chunk-writer-dev")
    assert variables["POWERTOOLS_SERVICE_NAME"] == "session-timer"
    assert variables["SPEAKER_GRACE_SECONDS"] == "120"
    assert variables["SESSION_TIMER_QUEUE_URL"] == {"Ref": timer_queue}
    assert variables["CHUNK_WRITER_FUNCTION"] == {"Ref": writer_id}
    consumer_id, _ = function_by_name(synth.sessions, "s3-audio-consumer-dev")
    assert variables["AUDIO_CONSUMER_FUNCTION"] == {"Ref": consumer_id}  # the worker watch restarts it
    for name in ("SESSIONS_TABLE", "CONNECTIONS_TABLE", "API_GATEWAY_ENDPOINT"):
        assert variables[name] == handler["Environment"]["Variables"][name], name
    assert "wss://" not in text(variables["API_GATEWAY_ENDPOINT"])


def test_connection_handler_schedules_timers(synth):
    timer_queue, _, _, _ = _queues(synth)
    _, handler = function_by_name(synth.sessions, "connection-handler-dev")
    variables = handler["Environment"]["Variables"]
    assert variables[env_names.SESSION_TIMER_QUEUE_URL] == {"Ref": timer_queue}
    assert variables[env_names.SPEAKER_GRACE_SECONDS] == str(constants.SPEAKER_GRACE_SECONDS)


def test_timer_permissions_are_least_privilege(synth):
    timer_queue, _, _, _ = _queues(synth)
    sessions = resource_id(synth.sessions, "AWS::DynamoDB::Table", "Sessions")
    connections = resource_id(synth.sessions, "AWS::DynamoDB::Table", "Connections")
    writer_id, _ = function_by_name(synth.sessions, "chunk-writer-dev")
    allowed = actions_on(role_statements(synth.sessions, TIMER))
    queue_arn = {"Fn::GetAtt": [timer_queue, "Arn"]}
    assert set(allowed) == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "lambda:InvokeFunction",
        "execute-api:ManageConnections",
        # The SQS event source
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        # Re-scheduling a timer that fired early
        "sqs:SendMessage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *TRACING,
    }
    sessions_arn = {"Fn::GetAtt": [sessions, "Arn"]}
    connections_arn = {"Fn::GetAtt": [connections, "Arn"]}
    assert allowed["dynamodb:DeleteItem"] == [connections_arn]
    assert allowed["dynamodb:GetItem"] == [sessions_arn]
    assert allowed["dynamodb:UpdateItem"] == [sessions_arn]
    assert len(allowed["dynamodb:Query"]) == 1
    assert text(allowed["dynamodb:Query"][0]).endswith('"/index/sessionId-targetLanguage-index"]]}')
    # The chunk writer (the end-of-stream marker), the session worker (the worker watch
    # restarts a dead one) and the fan-out function by its name (the end's broadcast to
    # thousands of listeners).
    consumer_id, _ = function_by_name(synth.sessions, "s3-audio-consumer-dev")
    invoked = allowed["lambda:InvokeFunction"]
    assert {"Fn::GetAtt": [writer_id, "Arn"]} in invoked and len(invoked) == 3
    assert {"Fn::GetAtt": [consumer_id, "Arn"]} in invoked
    assert any(":function:fanout-dev" in text(r) for r in invoked)
    assert len(allowed["execute-api:ManageConnections"]) == 1
    assert post_to_connections("dev") in text(allowed["execute-api:ManageConnections"])
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"):
        assert allowed[action] == [queue_arn], action


def test_grace_period_comes_from_context():
    app = cdk.App(
        context={**constants.FEATURE_FLAGS, "aws:cdk:bundling-stacks": [], "speakerGraceSeconds": "300"}
    )
    sessions_stack, _ = build_app(app)
    template = cdk.assertions.Template.from_stack(sessions_stack)
    for name in (TIMER, "connection-handler-dev"):
        _, function = function_by_name(template, name)
        assert function["Environment"]["Variables"]["SPEAKER_GRACE_SECONDS"] == "300"
    template.has_resource_properties(
        "AWS::SQS::Queue", {"QueueName": "session-timers-dev", "DelaySeconds": 300}
    )


@pytest.mark.parametrize("seconds", ["0", "901"])
def test_grace_period_must_fit_one_sqs_delay(seconds):
    app = cdk.App(
        context={**constants.FEATURE_FLAGS, "aws:cdk:bundling-stacks": [], "speakerGraceSeconds": seconds}
    )
    with pytest.raises(ValueError, match="grace period"):
        build_app(app)
