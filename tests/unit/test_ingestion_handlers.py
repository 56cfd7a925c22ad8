"""chunk_writer and s3_audio_consumer Lambda handlers with moto S3/DynamoDB."""

from __future__ import annotations

import base64
import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from chunk_writer import handler as writer_handler
from local.replay import BUCKET, create_resources
from s3_audio_consumer import handler as consumer_handler
from s3_audio_consumer.adapters import LambdaProcessorInvoker
from tests.conftest import CAPTURES
from tests.unit.ws_harness import Context

SESSION = "steady-river-1234"
CHUNKS = [p.read_bytes() for p in sorted((CAPTURES / "en-welcome").glob("chunk-*.webm"))]


@pytest.fixture
def aws(monkeypatch, ffmpeg):
    with mock_aws():
        s3, table = create_resources(boto3.Session(region_name="us-east-1"), SESSION, "en")
        monkeypatch.setenv("CHUNK_BUCKET", BUCKET)
        monkeypatch.setenv("SESSIONS_TABLE", table.name)
        monkeypatch.setenv("AUDIO_PROCESSOR_FUNCTION", "audio-processor-test")
        monkeypatch.setenv("FFMPEG_PATH", ffmpeg)
        writer_handler._writer.cache_clear()
        consumer_handler._batcher.cache_clear()
        yield s3, table
        writer_handler._writer.cache_clear()
        consumer_handler._batcher.cache_clear()


def write(event):
    return writer_handler.lambda_handler(event, Context())


def test_writer_stores_chunks_under_zero_padded_keys(aws):
    s3, _ = aws
    result = write({"sessionId": SESSION, "seq": 0, "data": base64.b64encode(CHUNKS[0]).decode()})
    assert result == {"status": "stored", "key": f"sessions/{SESSION}/chunks/0000000000.webm"}
    write({"sessionId": SESSION, "seq": 12, "data": base64.b64encode(CHUNKS[12]).decode()})
    write({"sessionId": SESSION, "seq": 12, "data": base64.b64encode(CHUNKS[12]).decode()})  # retry
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [
        f"sessions/{SESSION}/chunks/0000000000.webm",
        f"sessions/{SESSION}/chunks/0000000012.webm",
    ]
    body = s3.get_object(Bucket=BUCKET, Key=keys[1])["Body"].read()
    assert body == CHUNKS[12]


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
    s3, _ = aws
    assert write(event)["status"] == "rejected"
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def s3_event(*keys: str) -> dict:
    return {
        "Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}
            for key in keys
        ]
    }


def test_consumer_invokes_the_processor_asynchronously_with_each_batch(aws, monkeypatch):
    client = boto3.client("lambda", region_name="us-east-1")
    stub = Stubber(client)
    invoked: list[dict] = []
    batcher = consumer_handler._batcher()
    original_deliver = batcher._deliver
    assert isinstance(original_deliver, LambdaProcessorInvoker)
    batcher._deliver = LambdaProcessorInvoker(client, "audio-processor-test")
    for seq, chunk in enumerate(CHUNKS[:25]):
        write({"sessionId": SESSION, "seq": seq, "data": base64.b64encode(chunk).decode()})
    for _ in range(2):
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": "audio-processor-test", "InvocationType": "Event", "Payload": ANY},
        )
    with stub:
        original_invoke = client.invoke

        def capture(**kwargs):
            invoked.append(json.loads(kwargs["Payload"]))
            return original_invoke(**kwargs)

        monkeypatch.setattr(client, "invoke", capture)
        # URL-encoded keys as S3 sends them; duplicates and a non-chunk record are harmless.
        keys = [f"sessions/{SESSION}/chunks/{seq:010d}.webm" for seq in range(25)]
        result = consumer_handler.lambda_handler(s3_event(*keys, keys[3], "sessions/x/other.txt"), Context())
    stub.assert_no_pending_responses()
    assert result == {"batches": 2}
    assert [p["index"] for p in invoked] == [0, 1]
    assert [p["startMs"] for p in invoked] == [0, 3000]
    assert all(len(base64.b64decode(p["pcm"])) == p["durationMs"] * 32 for p in invoked)
    assert {p["sourceLanguage"] for p in invoked} == {"en"}


def test_consumer_ignores_events_of_unknown_sessions(aws):
    assert consumer_handler.lambda_handler(
        s3_event("sessions/brave-otter-0001/chunks/0000000000.webm"), Context()
    ) == {"batches": 0}


class TimedContext(Context):
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def test_a_failed_invoke_rolls_the_claim_back_and_fails_the_event_for_its_retry(aws, monkeypatch):
    _, table = aws
    client = boto3.client("lambda", region_name="us-east-1")
    stub = Stubber(client)
    invoked: list[int] = []
    batcher = consumer_handler._batcher()
    batcher._deliver = LambdaProcessorInvoker(client, "audio-processor-test")
    for seq, chunk in enumerate(CHUNKS[:25]):
        write({"sessionId": SESSION, "seq": seq, "data": base64.b64encode(chunk).decode()})
    stub.add_client_error("invoke", service_error_code="TooManyRequestsException", http_status_code=429)
    for _ in range(2):
        stub.add_response("invoke", {"StatusCode": 202})
    event = s3_event(f"sessions/{SESSION}/chunks/{24:010d}.webm")
    with stub:
        original_invoke = client.invoke

        def capture(**kwargs):
            invoked.append(json.loads(kwargs["Payload"])["index"])
            return original_invoke(**kwargs)

        monkeypatch.setattr(client, "invoke", capture)
        with pytest.raises(ClientError):
            consumer_handler.lambda_handler(event, TimedContext())
        cursor = table.get_item(Key={"sessionId": SESSION})["Item"]["ingest"]
        assert cursor["batch_index"] == 0, "batch 0's claim was rolled back"
        assert consumer_handler.lambda_handler(event, TimedContext()) == {"batches": 2}  # Lambda's retry
    stub.assert_no_pending_responses()
    assert invoked == [0, 0, 1]


def test_the_deadline_leaves_the_functions_margin():
    before = time.time()
    deadline = consumer_handler.deadline_of(TimedContext())
    assert deadline is not None
    assert before + 60 - consumer_handler.DEADLINE_MARGIN_SECONDS <= deadline <= time.time() + 60
    assert consumer_handler.deadline_of(Context()) is None  # a context that cannot tell: never sleep
