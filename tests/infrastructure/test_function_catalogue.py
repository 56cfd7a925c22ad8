"""One table of functions (lambdas/deployment/functions.py): what the stacks deploy and what the
local runner runs are its rows, with the same handler, memory, timeout and retries."""

from __future__ import annotations

from infra import constants
from lambdas.deployment import functions
from local.runner import FUNCTION_DEFS
from tests.infrastructure.helpers import function_by_name


def test_every_deployed_function_is_a_row_of_the_table(synth):
    for function in functions.ALL:
        in_transcription = function.package in {"audio_processor", "fanout", "transcripts"}
        template = synth.transcription if in_transcription else synth.sessions
        _, deployed = function_by_name(template, f"{function.base_name}-dev")
        assert deployed["Handler"] == function.handler, function.base_name
        assert deployed["MemorySize"] == function.memory_mb, function.base_name
        assert deployed["Timeout"] == function.timeout_seconds, function.base_name
        assert deployed["EphemeralStorage"] == {"Size": function.ephemeral_mb}, function.base_name
    assert {
        f.base_name: f.async_retries for f in functions.ALL if f.async_retries is not None
    } == constants.ASYNC_RETRIES


def test_the_local_runner_runs_the_same_functions():
    local = {d.name: d for d in FUNCTION_DEFS}
    for function in functions.ALL:
        run = local[f"{function.base_name}-local"]
        assert run.handler == f"{function.module}:{function.entry}"
        assert (run.memory_mb, run.timeout_seconds, run.async_retries) == (
            function.memory_mb,
            function.timeout_seconds,
            function.async_retries or 0,
        )
    assert "connect-authorizer-local" in local  # the stacks' name, not a local one
