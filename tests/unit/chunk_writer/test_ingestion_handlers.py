"""chunk_writer and s3_audio_consumer Lambda handlers with moto S3/DynamoDB."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chunk_writer import handler as writer_handler
from chunk_writer import wiring as writer_wiring
from chunk_writer.guard import WorkerGuard
from chunk_writer.writer import ChunkWriter
from local.kit.captures import capture
from local.replay import BUCKET, create_bucket
from local.resources import create_sessions_table
from s3_audio_consumer import handler as consumer_handler
from s3_audio_consumer import wiring as consumer_wiring
from s3_audio_consumer.utterances import Utterance
from s3_audio_consumer.wiring import LambdaSuccessor, LambdaUtteranceSink, QueueUndeliveredSink
from s3_audio_consumer.worker import WorkerRun
from shared.audio_unit import UtteranceUnit
from shared.worker_kick import WorkerKick
from shared.worker_watch import WatchMessage, WorkerWatch
from tests.unit.ws_harness import Context

SESSION = "steady-river-1234"
CHUNKS = capture("en-welcome").chunks


@dataclass
class FakeLambda:
    invokes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def invoke(self, FunctionName: str, InvocationType: str, Payload: str | bytes) -> dict[str, Any]:
        self.invokes.append((FunctionName, InvocationType, json.loads(Payload)))
        return {"StatusCode": 202}


@pytest.fixture
def aws():
    with mock_aws():
        aws = boto3.Session(region_name="us-east-1")
        s3 = create_bucket(aws)
        table = create_sessions_table(aws.resource("dynamodb"), "sessions-test")
        table.put_item(Item={"sessionId": SESSION, "sourceLanguage": "en", "status": "active"})
        lambda_client = FakeLambda()
        lambda_client.now = time.time()  # type: ignore[attr-defined]
        clock = lambda: lambda_client.now  # type: ignore[attr-defined]  # noqa: E731
        kick = WorkerKick(table, lambda_client, "s3-audio-consumer-test", clock)
        watches: list[tuple[WatchMessage, int]] = []
        runtime = writer_wiring.Runtime(
            writer=ChunkWriter(s3=s3, bucket=BUCKET),
            guard=WorkerGuard(kick, WorkerWatch(table, kick, lambda m, d: watches.append((m, d)), clock)),
        )
        lambda_client.watches = watches  # type: ignore[attr-defined]
        WRITER.append(runtime)
        try:
            yield s3, table, lambda_client
        finally:
            WRITER.clear()


WRITER: list[writer_wiring.Runtime] = []  # the runtime the `aws` fixture built


def write(event):
    return writer_handler.lambda_handler(event, Context(), runtime=WRITER[-1])


def chunk_event(seq: int) -> dict[str, Any]:
    return {"sessionId": SESSION, "seq": seq, "data": base64.b64encode(CHUNKS[seq]).decode()}


def test_writer_stores_chunks_under_zero_padded_keys(aws):
    s3, _, _ = aws
    result = write(chunk_event(0))
    assert (result["status"], result["key"]) == ("stored", f"sessions/{SESSION}/chunks/0000000000.webm")
    write(chunk_event(12))
    write(chunk_event(12))  # retry
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [
        f"sessions/{SESSION}/chunks/0000000000.webm",
        f"sessions/{SESSION}/chunks/0000000012.webm",
    ]
    body = s3.get_object(Bucket=BUCKET, Key=keys[1])["Body"].read()
    assert body == CHUNKS[12]


def test_writer_starts_the_sessions_worker_only_when_none_is_alive(aws):
    _, table, lambda_client = aws
    assert write(chunk_event(0))["workerStarted"] == 0
    assert lambda_client.invokes == [
        ("s3-audio-consumer-test", "Event", {"sessionId": SESSION, "generation": 0})
    ]
    assert write(chunk_event(1))["workerStarted"] is None  # still starting: one kick per lease period
    lambda_client.now += 1
    now_ms = int(lambda_client.now * 1000)
    table.update_item(
        Key={"sessionId": SESSION},
        UpdateExpression="SET worker = :w",
        ExpressionAttributeValues={":w": {"generation": 0, "owner": "x", "heartbeatAt": now_ms}},
    )
    assert write(chunk_event(2))["workerStarted"] is None  # alive: nothing to start
    lambda_client.now += 10  # it died: no heartbeat for 10 s
    assert write(chunk_event(3))["workerStarted"] == 1  # its replacement starts
    table.update_item(
        Key={"sessionId": SESSION},
        UpdateExpression="SET worker.done = :t",
        ExpressionAttributeValues={":t": True},
    )
    lambda_client.now += 10
    assert write(chunk_event(4))["workerStarted"] is None  # the talk is over
    assert len(lambda_client.invokes) == 2


@pytest.mark.parametrize(
    "event",
    [
        {"sessionId": SESSION, "seq": 0, "data": base64.b64encode(CHUNKS[1]).decode()},  # no EBML magic
        {"sessionId": SESSION, "seq": 3, "data": "%%%"},
        {"sessionId": SESSION, "seq": 3, "data": ""},
        {"sessionId": "../../etc", "seq": 3, "data": base64.b64encode(CHUNKS[3]).decode()},
        {"sessionId": SESSION, "seq": True, "data": base64.b64encode(CHUNKS[3]).decode()},
        {"sessionId": SESSION, "endOfStream": True, "finalSeq": "7"},
    ],
)
def test_writer_rejects_bad_chunks_without_storing(aws, event):
    s3, _, _ = aws
    assert write(event)["status"] == "rejected"
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_the_worker_handler_refuses_events_that_are_not_its_own():
    for event in ({}, {"sessionId": "../x", "generation": 0}, {"sessionId": SESSION, "generation": -1}):
        assert consumer_handler.lambda_handler(event, Context()) == {"outcome": "invalid"}


def test_the_worker_handler_runs_the_worker_and_reports_its_outcome():
    runs: list[tuple[str, int]] = []

    class Worker:
        def run(self, session_id: str, generation: int, deadline: float) -> WorkerRun:
            runs.append((session_id, generation))
            assert deadline > time.time()
            return WorkerRun("handed_over", generation, utterances=7, streams=1)

    runtime = consumer_wiring.Runtime(worker=Worker())  # type: ignore[arg-type]
    result = consumer_handler.lambda_handler(
        {"sessionId": SESSION, "generation": 3}, Context(), runtime=runtime
    )
    assert result == {"outcome": "handed_over", "utterances": 7, "streams": 1}
    assert runs == [(SESSION, 3)]


def test_an_utterance_reaches_the_processor_in_a_payload_it_accepts():
    client = FakeLambda()
    LambdaUtteranceSink(client, "audio-processor-test")(
        SESSION, "en", Utterance(4, 12_300, 2_100, "Hello there.")
    )
    ((name, kind, payload),) = client.invokes
    assert (name, kind) == ("audio-processor-test", "Event")
    unit = UtteranceUnit.model_validate(payload)  # the processor's own model of its event
    assert (unit.index, unit.start_ms, unit.duration_ms, unit.text) == (4, 12_300, 2_100, "Hello there.")
    LambdaSuccessor(client, "s3-audio-consumer-test")(SESSION, 5)
    assert client.invokes[-1] == ("s3-audio-consumer-test", "Event", {"sessionId": SESSION, "generation": 5})


def test_an_undelivered_utterance_is_kept_as_a_redrivable_failure_record(aws):
    """The record has the shape of a Lambda on-failure destination's: its requestPayload
    is an event the processor accepts, so a redrive is one invoke of it."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="undelivered-test")["QueueUrl"]
    keep = QueueUndeliveredSink(sqs, url, "audio-processor-test")
    keep(SESSION, "en", Utterance(4, 12_300, 2_100, "Hello there."), 900, "Rate exceeded")
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"] == {"condition": "HandOffFailed", "functionName": "audio-processor-test"}
    assert record["responsePayload"]["errorMessage"] == "Rate exceeded"
    unit = UtteranceUnit.model_validate(record["requestPayload"])
    assert (unit.session_id, unit.index, unit.text, unit.missed_before_ms) == (
        SESSION,
        4,
        "Hello there.",
        900,
    )


def test_the_deadline_leaves_time_to_hand_over():
    class Ctx:
        def get_remaining_time_in_millis(self) -> int:
            return 900_000

    deadline = consumer_handler.deadline_of(Ctx())
    assert 900 - consumer_handler.DEADLINE_MARGIN_SECONDS - 2 < deadline - time.time() <= 900 - 59
