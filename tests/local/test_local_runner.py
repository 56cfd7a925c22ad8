"""What `make local` gives the functions, without starting the stack: the production Translate
and Polly adapters by default, pointed at the local endpoints by their variables alone; the
in-process recognizer by default and the production Transcribe adapter on the local
endpoint (and its CA) with RECOGNIZER=aws; and the pairs the offline engines serve."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import boto3
import pytest

from audio_processor.config import ProcessorConfig
from deployment import env_names
from local.endpoints.service_latency import AWS_TRANSCRIBE_LAG_MS, AWS_TRANSCRIBE_START_MS, ServiceLatency
from local.engines import served_pairs
from local.gateway import GatewaySettings
from local.gateway.dev_routes import DevRoutes
from local.runner import LocalStack, arguments, network_binding
from s3_audio_consumer.wiring import WorkerConfig, build_recognizer


@pytest.fixture
def no_engine_variables(monkeypatch):
    for name in (env_names.SPEECH_ENGINES, env_names.RECOGNIZER):
        monkeypatch.delenv(name, raising=False)


def stack_from(argv: list[str]) -> LocalStack:
    args = arguments(argv)
    return LocalStack(port=8080, engines=args.engines, recognizer=args.recognizer)


def test_by_default_the_production_adapters_translate_speak_and_recognize_against_the_local_endpoints(
    no_engine_variables,
):
    stack = stack_from([])
    environment = stack.environment()

    assert environment[env_names.SPEECH_ENGINES] == "aws"
    assert environment[env_names.RECOGNIZER] == "aws"
    assert environment[env_names.TRANSCRIBE_ENDPOINT] == stack.endpoints()["transcribestreaming"]
    assert set(stack.endpoints()) == {"translate", "polly", "transcribestreaming"}
    assert environment[env_names.LANGUAGE_PAIRS] == served_pairs().format() != ""


def test_the_in_process_recognizer_stays_an_opt_in(no_engine_variables):
    stack = stack_from(["--recognizer", "local.engines.streaming:build"])
    environment = stack.environment()

    assert environment[env_names.RECOGNIZER] == "local.engines.streaming:build"
    assert env_names.TRANSCRIBE_ENDPOINT not in environment
    assert stack.transcribe is None and "transcribestreaming" not in stack.endpoints()


def test_the_production_recognizer_runs_on_the_local_transcribe_endpoint(no_engine_variables):
    stack = stack_from(["--recognizer", "aws"])
    environment = stack.environment()

    assert environment[env_names.RECOGNIZER] == "aws"
    assert environment[env_names.TRANSCRIBE_ENDPOINT] == stack.endpoints()["transcribestreaming"]
    assert environment[env_names.TRANSCRIBE_ENDPOINT].startswith("https://127.0.0.1:")
    assert "BEGIN CERTIFICATE" in Path(environment[env_names.CA_BUNDLE]).read_text()
    assert environment[env_names.LANGUAGE_PAIRS] == served_pairs().format() != ""


def test_the_worker_built_from_that_environment_runs_the_production_recognizer_on_the_endpoint(
    no_engine_variables, monkeypatch
):
    stack = stack_from(["--recognizer", "aws"])
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(env_names.UNDELIVERED_QUEUE_URL, "http://127.0.0.1:1/queue/undelivered")

    config = WorkerConfig.from_env()

    assert (config.recognizer, config.transcribe_endpoint) == ("aws", stack.transcribe.base_url)
    assert config.ca_bundle == stack.transcribe.ca_file
    assert type(build_recognizer(config)).__name__ == "AwsRecognizer"


def test_aws_timing_reaches_the_transcribe_endpoint():
    stack = LocalStack(port=8080, recognizer="aws", latency=ServiceLatency.aws())

    assert stack.transcribe is not None
    assert stack.transcribe.settings.start_delay_s == AWS_TRANSCRIBE_START_MS / 1000 > 0
    assert stack.transcribe.settings.result_lag_s == AWS_TRANSCRIBE_LAG_MS / 1000 > 0


def test_the_in_process_offline_engines_stay_an_opt_in(no_engine_variables, monkeypatch):
    monkeypatch.setenv(env_names.SPEECH_ENGINES, "local.engines:build")

    environment = stack_from([]).environment()

    assert environment[env_names.SPEECH_ENGINES] == "local.engines:build"
    assert environment[env_names.RECOGNIZER] == "aws"
    assert environment[env_names.LANGUAGE_PAIRS] == served_pairs().format()


def test_the_functions_clients_reach_the_endpoints_by_their_variables_though_moto_is_the_default(
    no_engine_variables, monkeypatch
):
    stack = stack_from([])
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)

    assert ProcessorConfig.from_env().engines == "aws"
    assert boto3.client("translate").meta.endpoint_url == stack.endpoints()["translate"]
    assert boto3.client("polly").meta.endpoint_url == stack.endpoints()["polly"]
    assert boto3.client("sqs").meta.endpoint_url == stack.moto_url
    assert environment_has_transcribe(stack)
    assert len({stack.moto_url, *stack.endpoints().values()}) == 4


def environment_has_transcribe(stack: LocalStack) -> bool:
    """The streaming SDK is not boto3: the worker reads the endpoint and the CA from these."""
    environment = stack.environment()
    return (
        environment[env_names.TRANSCRIBE_ENDPOINT] == stack.endpoints()["transcribestreaming"]
        and Path(environment[env_names.CA_BUNDLE]).is_file()
    )


def test_healthz_lists_the_endpoints():
    stack = LocalStack(port=8080, recognizer="aws")
    settings = GatewaySettings(
        port=8080,
        stage="local",
        api_id="localapi01",
        authorizer="authorizer-local",
        connection_handler="connection-handler-local",
        routes=(),
        moto_url=stack.moto_url,
        endpoints=stack.endpoints(),
    )
    routes = DevRoutes(settings, identity=None, open_connections={}, is_ready=lambda: True)  # type: ignore[arg-type]

    response = asyncio.run(routes.healthz(None))  # type: ignore[arg-type]

    assert json.loads(response.text or "")["endpoints"] == {
        "translate": stack.endpoints()["translate"],
        "polly": stack.endpoints()["polly"],
        "transcribestreaming": stack.transcribe.base_url if stack.transcribe else None,
    }


def test_by_default_the_stack_stays_on_this_machine(monkeypatch):
    monkeypatch.delenv("LOCAL_LAN", raising=False)
    binding = network_binding(arguments([]))
    environment = LocalStack(port=8080, **binding).environment()

    assert binding == {"bind": "127.0.0.1", "public_host": "127.0.0.1"}
    assert environment[env_names.LISTENER_BASE_URL] == "http://127.0.0.1:8080/listener/"


def test_on_the_lan_phones_are_sent_to_this_machines_address(monkeypatch):
    monkeypatch.setenv("LOCAL_LAN", "1")
    monkeypatch.setenv("LOCAL_PUBLIC_HOST", "192.168.1.23")
    binding = network_binding(arguments([]))
    stack = LocalStack(port=8080, **binding)
    environment = stack.environment()

    assert binding == {"bind": "0.0.0.0", "public_host": "192.168.1.23"}
    # The QR and link, and the presigned clip and transcript URLs a phone fetches.
    assert environment[env_names.LISTENER_BASE_URL] == "http://192.168.1.23:8080/listener/"
    assert environment["AWS_ENDPOINT_URL_S3"] == "http://192.168.1.23:8080/s3"
    # What only this machine calls stays on the loopback.
    assert environment["AWS_ENDPOINT_URL_LAMBDA"] == "http://127.0.0.1:8080"
    assert all(url.split("://")[1].startswith("127.0.0.1:") for url in stack.endpoints().values())


def test_lan_without_a_given_host_finds_this_machines_address(monkeypatch):
    monkeypatch.delenv("LOCAL_PUBLIC_HOST", raising=False)
    binding = network_binding(arguments(["--lan"]))

    assert binding["bind"] == "0.0.0.0"
    assert binding["public_host"] != "" and not binding["public_host"].startswith("0.")
