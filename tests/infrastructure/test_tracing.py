"""Every function traces with X-Ray, so that a chunk, the worker's utterance and its clip
are segments of traces found by the session's keys (lambdas/shared/observability.py)."""

from __future__ import annotations

import pytest

from lambdas.deployment import functions
from tests.infrastructure.helpers import TRACING, actions_on, resources, role_statements


@pytest.mark.parametrize("stack", ["sessions", "transcription"])
def test_every_function_traces_actively_and_may_send_its_segments(synth, stack):
    template = getattr(synth, stack)
    found = resources(template, "AWS::Lambda::Function").values()
    assert found, stack
    for function in found:
        properties = function["Properties"]
        name = properties["FunctionName"]
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        # Calls from threads the SDK cannot see are left untraced, not logged as errors.
        assert properties["Environment"]["Variables"]["AWS_XRAY_CONTEXT_MISSING"] == "IGNORE_ERROR"
        assert set(TRACING) <= set(actions_on(role_statements(template, name))), name


def test_every_product_function_is_traced(synth):
    deployed = {
        f["Properties"]["FunctionName"].rsplit("-", 1)[0]
        for template in (synth.sessions, synth.transcription)
        for f in resources(template, "AWS::Lambda::Function").values()
    }
    assert deployed == {f.base_name for f in functions.ALL}


@pytest.mark.parametrize("stack", ["sessions", "transcription"])
def test_the_x_ray_wildcard_is_alone_in_its_policy(synth, stack):
    """cdk-nag accepts Resource * on each function's tracing policy only: that policy must
    hold X-Ray's two actions and nothing else, so no other grant hides behind it."""
    template = getattr(synth, stack)
    tracing = {
        logical_id: policy["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, policy in resources(template, "AWS::IAM::Policy").items()
        if "Tracing" in logical_id
    }
    assert len(tracing) == len(resources(template, "AWS::Lambda::Function"))
    for logical_id, statements in tracing.items():
        assert [(sorted(s["Action"]), s["Effect"], s["Resource"]) for s in statements] == [
            (sorted(TRACING), "Allow", "*")
        ], logical_id
