"""Reserved concurrency of the connection path, and the context switch that turns it off."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from app import build_app
from infra import constants
from infra.python_function import FunctionSpec
from lambdas.deployment import functions
from tests.infrastructure.helpers import function_by_name

CONNECTION_PATH = (constants.CONNECTION_HANDLER, constants.AUTHORIZER)


def test_connection_path_has_reserved_concurrency(synth):
    for base in CONNECTION_PATH:
        _, function = function_by_name(synth.sessions, f"{base}-dev")
        assert function["ReservedConcurrentExecutions"] == constants.RESERVED_CONCURRENCY[base]["dev"]
    assert constants.RESERVED_CONCURRENCY[constants.CONNECTION_HANDLER] == {"dev": 50, "prod": 300}
    assert constants.RESERVED_CONCURRENCY[constants.AUTHORIZER] == {"dev": 20, "prod": 100}


def test_other_functions_share_the_unreserved_pool(synth):
    for name in ("chunk-writer-dev", "s3-audio-consumer-dev", "session-timer-dev"):
        _, function = function_by_name(synth.sessions, name)
        assert "ReservedConcurrentExecutions" not in function, name
    _, processor = function_by_name(synth.transcription, "audio-processor-dev")
    assert "ReservedConcurrentExecutions" not in processor


def test_reservations_leave_the_default_account_limit_room():
    # Lambda keeps 100 of an account's 1,000 unreserved; dev and prod may share an account.
    reserved = sum(by_env[env] for by_env in constants.RESERVED_CONCURRENCY.values() for env in by_env)
    assert reserved <= 1000 - 100 - 400  # and leaves room for the speech path


def _sessions_template(env: str, **context: str) -> Template:
    app = cdk.App(context={**constants.FEATURE_FLAGS, "aws:cdk:bundling-stacks": [], "env": env, **context})
    sessions_stack, _ = build_app(app)
    return Template.from_stack(sessions_stack)


def _transcription_template(env: str, **context: str) -> Template:
    app = cdk.App(context={**constants.FEATURE_FLAGS, "aws:cdk:bundling-stacks": [], "env": env, **context})
    _, transcription_stack = build_app(app)
    return Template.from_stack(transcription_stack)


@pytest.mark.parametrize("value", ["false", "0"])
def test_context_turns_reservations_off(value):
    template = _sessions_template("dev", reservedConcurrency=value)
    for base in CONNECTION_PATH:
        _, function = function_by_name(template, f"{base}-dev")
        assert "ReservedConcurrentExecutions" not in function
    _, transcripts = function_by_name(
        _transcription_template("dev", reservedConcurrency=value), "transcripts-dev"
    )
    assert "ReservedConcurrentExecutions" not in transcripts


def test_prod_reservations():
    template = _sessions_template("prod")
    for base in CONNECTION_PATH:
        _, function = function_by_name(template, f"{base}-prod")
        assert function["ReservedConcurrentExecutions"] == constants.RESERVED_CONCURRENCY[base]["prod"]


def test_bad_context_value_is_refused():
    with pytest.raises(ValueError, match="reservedConcurrency"):
        _sessions_template("dev", reservedConcurrency="maybe")


def test_zero_is_never_a_reservation():
    with pytest.raises(ValueError):
        FunctionSpec(function=functions.CHUNK_WRITER, description="x", reserved_concurrency=0)
