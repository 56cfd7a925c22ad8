"""shared/observability.py: one logger, metrics and tracer for every function."""

from __future__ import annotations

import json

from shared.observability import follow, logger, observed, tracer


class Context:
    function_name = "observed-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:observed-test"
    aws_request_id = "req-1"


def test_an_observed_handler_keeps_its_arguments_and_answer(caplog):
    @observed
    def handler(event, context, runtime=None):
        follow(sessionId="steady-river-1234", seq=7, index=None)
        logger.info("handled")
        return {"event": event, "runtime": runtime}

    assert handler({"a": 1}, Context(), runtime="injected") == {"event": {"a": 1}, "runtime": "injected"}
    record = next(r for r in caplog.records if r.getMessage() == "handled")
    handled = json.loads(logger.registered_formatter.format(record))  # the line CloudWatch gets
    assert handled["sessionId"] == "steady-river-1234" and handled["seq"] == 7
    assert "index" not in handled  # an unset key is left out
    assert handled["function_request_id"] == "req-1"


def test_a_warm_invocation_does_not_carry_the_last_ones_keys(caplog):
    @observed
    def handler(event, context):
        follow(sessionId="steady-river-1234", seq=event.get("seq"))
        logger.info("chunk" if "seq" in event else "heartbeat")

    handler({"seq": 41}, Context())
    handler({}, Context())
    record = next(r for r in caplog.records if r.getMessage() == "heartbeat")
    line = json.loads(logger.registered_formatter.format(record))
    assert line["sessionId"] == "steady-river-1234" and "seq" not in line


def test_the_tracer_is_off_outside_lambda():
    # Off Lambda (no LAMBDA_TASK_ROOT) Powertools turns X-Ray off: tests and the local runner
    # need neither a daemon nor credentials for it.
    assert tracer.disabled
