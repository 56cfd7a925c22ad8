"""Delivery to thousands of listeners: the signed asyncio poster against a real HTTP
endpoint, the paging across fan-out invocations, the fan-out function, and the batched
removal of stale listeners."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials
from moto import mock_aws

from delivery.audience import CONNECT_GRACE_MS, Audience, initial_counters
from delivery.fanout import (
    FanoutResult,
    LambdaPageInvoker,
    Page,
    PagedFanout,
    SignedPoster,
    pages_of,
    rounds_of,
)
from delivery.notifier import Notifier
from fanout import handler as fanout_handler
from local.kit.aws_fakes import create_tables
from local.management_sim import ManagementSim


class _Credentials:
    def get_frozen_credentials(self) -> Any:
        return Credentials("AKIDEXAMPLE", "secret", "token").get_frozen_credentials()


@pytest.fixture
def sim():
    with ManagementSim(delay_seconds=0.01, gone_fraction=0.0) as running:
        yield running


def poster_for(sim: ManagementSim, in_flight: int = 50) -> SignedPoster:
    return SignedPoster(sim.endpoint, "eu-west-1", _Credentials, in_flight=in_flight)


def test_a_page_reaches_every_connection_once_signed_and_quoted(sim):
    ids = [f"conn{n}=" for n in range(300)]  # API Gateway ids end in "="
    poster = poster_for(sim, in_flight=50)
    result = poster.post(Page(b'{"type":"translatedAudio"}', tuple(ids)))
    poster.close()
    assert (result.delivered, result.gone, result.failed) == (300, [], 0)
    assert sorted(sim.received) == sorted(ids)
    assert all(body == b'{"type":"translatedAudio"}' for body in sim.bodies)
    # Signed by botocore's SigV4 for execute-api in the function's region, with the session token.
    auth = sim.headers[0]["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in auth
    assert sim.headers[0]["X-Amz-Security-Token"] == "token"
    assert 1 < sim.peak <= 50  # in flight together, never more than the limit


def test_gone_connections_are_reported_and_a_failing_post_is_retried_once_then_kept(sim):
    sim.gone = {"c1", "c7"}
    sim.fail_first = {"c3"}  # a 500 once, then delivered
    sim.fail_always = {"c5"}
    poster = poster_for(sim)
    result = poster.post(Page(b"{}", tuple(f"c{n}" for n in range(10))))
    poster.close()
    assert sorted(result.gone) == ["c1", "c7"]
    assert result.failed == 1  # c5: neither delivered nor gone, so the listener stays
    assert result.delivered == 7
    assert sim.received.count("c3") == 2 and sim.received.count("c5") == 2


def test_messages_are_grouped_by_content_and_split_into_pages():
    clip = {"type": "translatedAudio", "language": "es"}
    other = {"type": "translatedAudio", "language": "fr"}
    pairs = [(f"e{n}", clip) for n in range(5)] + [("f0", other)]
    pages = pages_of(pairs, page_size=2)
    assert [p.connection_ids for p in pages] == [("e0", "e1"), ("e2", "e3"), ("e4",), ("f0",)]
    assert json.loads(pages[0].data) == clip and json.loads(pages[3].data) == other


def test_each_connection_gets_its_messages_in_the_order_given_through_the_paged_fanout(sim):
    """A reply and the counts after it, a caption and its voice: two messages to one
    connection in one call arrive in that order, while other connections run in parallel."""
    reply, counts = {"type": "sessionCreated", "n": 1}, {"type": "listenerStats", "n": 2}
    broadcast = {"type": "sessionResumed", "n": 0}
    messages = [(f"l{n}", broadcast) for n in range(40)] + [("spk", reply), ("spk", counts)]
    poster = poster_for(sim)
    try:
        assert PagedFanout(poster, None, page_size=10).send_many(messages) == []
    finally:
        poster.close()
    to_speaker = [
        json.loads(body)["n"] for cid, body in zip(sim.received, sim.bodies, strict=True) if cid == "spk"
    ]
    assert to_speaker == [1, 2]
    assert sorted(sim.received) == sorted(cid for cid, _ in messages)  # each once
    assert rounds_of(messages)[1] == [("spk", counts)]


def test_the_notifier_sends_to_each_connection_in_order_and_to_connections_in_parallel():
    class SlowFirst:
        """The first post to each connection is the slowest: parallel posts would reorder."""

        def __init__(self) -> None:
            self.posted: list[tuple[str, int]] = []
            self.in_flight = self.peak = 0
            self._lock = threading.Lock()

        def post_to_connection(self, ConnectionId: str, Data: bytes) -> None:
            n = json.loads(Data)["n"]
            with self._lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
            time.sleep(0.05 if n == 0 else 0.001)
            with self._lock:
                self.in_flight -= 1
                self.posted.append((ConnectionId, n))

    client = SlowFirst()
    messages = [(cid, {"type": "x", "n": n}) for n in range(3) for cid in ("a", "b", "c")]
    assert Notifier(client, max_workers=8).send_many(messages) == []
    for cid in ("a", "b", "c"):
        assert [n for c, n in client.posted if c == cid] == [0, 1, 2]
    assert client.peak >= 2


def test_pages_beyond_the_first_go_to_parallel_invocations_and_a_failed_one_is_posted_here(sim):
    invoked: list[tuple[str, ...]] = []

    def invoke(page: Page) -> FanoutResult:
        invoked.append(page.connection_ids)
        if page.connection_ids[0] == "c200":
            raise ConnectionError("throttled")  # this page falls back to the processor
        return FanoutResult(delivered=len(page.connection_ids) - 1, gone=[page.connection_ids[-1]], pages=1)

    poster = poster_for(sim)
    sender = PagedFanout(poster, invoke, page_size=100)
    message = {"type": "translatedAudio", "index": 3}
    result = sender.deliver([(f"c{n}", message) for n in range(350)])
    gone = result.gone
    poster.close()
    assert sorted(invoked) == sorted(
        [tuple(f"c{n}" for n in range(start, min(start + 100, 350))) for start in (100, 200, 300)]
    )
    # Posted here: the first page and the page whose invocation failed.
    assert sorted(sim.received) == sorted([f"c{n}" for n in range(100)] + [f"c{n}" for n in range(200, 300)])
    assert sorted(gone) == ["c199", "c349"]
    assert result.pages == 4 and result.delivered == 100 + 99 + 100 + 49


def test_without_a_fanout_function_every_page_is_posted_here(sim):
    poster = poster_for(sim)
    sender = PagedFanout(poster, None, page_size=40)
    assert sender.send_many([(f"c{n}", {"type": "x"}) for n in range(130)]) == []
    poster.close()
    assert sorted(sim.received) == sorted(f"c{n}" for n in range(130))


class _LambdaClient:
    def __init__(self, answer: dict[str, Any], function_error: str | None = None) -> None:
        self.answer, self.function_error = answer, function_error
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        response: dict[str, Any] = {"Payload": io.BytesIO(json.dumps(self.answer).encode())}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


def test_the_lambda_invoker_sends_the_page_and_reads_the_answer():
    client = _LambdaClient({"delivered": 2, "gone": ["b"], "failed": 0, "peakInFlight": 3, "pages": 1})
    result = LambdaPageInvoker(client, "fanout-dev")(Page(b'{"type":"x"}', ("a", "b", "c")))
    assert result.gone == ["b"] and result.delivered == 2
    call = client.calls[0]
    assert (call["FunctionName"], call["InvocationType"]) == ("fanout-dev", "RequestResponse")
    assert json.loads(call["Payload"]) == {"message": '{"type":"x"}', "connectionIds": ["a", "b", "c"]}
    with pytest.raises(RuntimeError):
        LambdaPageInvoker(_LambdaClient({"errorMessage": "boom"}, "Unhandled"), "fanout-dev")(
            Page(b"{}", ("a",))
        )


def test_the_fanout_function_posts_its_page_and_refuses_a_malformed_one(sim):
    poster = poster_for(sim)

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "fanout-test", 1769, "req"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fanout-test"

    sim.gone = {"b"}
    answer = fanout_handler.lambda_handler(
        {"message": '{"type":"x"}', "connectionIds": ["a", "b"]}, Context(), poster=poster
    )
    assert (answer["delivered"], answer["gone"]) == (1, ["b"])
    for refused in ({"message": "not json", "connectionIds": ["a"]}, {"connectionIds": []}):
        assert fanout_handler.lambda_handler(refused, Context(), poster=poster)["outcome"] == "invalid"
    poster.close()
    assert sim.received.count("a") == 1  # the refused pages posted nothing


@mock_aws
def test_stale_listeners_of_a_clip_are_removed_with_one_write_to_the_session():
    dynamodb = boto3.resource("dynamodb")
    sessions, connections = create_tables(dynamodb)
    sessions.put_item(Item={"sessionId": "S1", **initial_counters()})
    now = time.time()
    audience = Audience(sessions, connections, lambda: now)
    old = int((now - 120) * 1000)
    for n in range(30):
        connections.put_item(Item={"connectionId": f"c{n}", "role": "listener", "connectedAt": old})
        audience.admit(f"c{n}", "S1", "es" if n % 3 else "fr", None)
    connections.put_item(  # still inside $connect: API Gateway answers 410 for it too
        Item={
            "connectionId": "young",
            "role": "listener",
            "connectedAt": int(now * 1000) - CONNECT_GRACE_MS // 2,
        }
    )
    audience.admit("young", "S1", "es", None)
    writes: list[str] = []
    real_update = sessions.update_item

    def counting_update(**kwargs: Any) -> Any:
        writes.append(kwargs["UpdateExpression"])
        return real_update(**kwargs)

    sessions.update_item = counting_update  # type: ignore[method-assign]
    gone = [f"c{n}" for n in range(0, 30, 2)] + ["young", "never-existed"]
    removed = audience.remove_stale_many(gone)
    assert sorted(removed) == sorted(f"c{n}" for n in range(0, 30, 2))
    assert {seat.session_id for seat in removed.values()} == {"S1"}
    assert len(writes) == 1  # 15 listeners in two languages: one update of the hot item
    counts = audience.counts("S1")
    assert counts == {"es": 10 + 1, "fr": 5}  # 20 es + young - 10 removed; 10 fr - 5 removed
    assert connections.get_item(Key={"connectionId": "young"}).get("Item") is not None
    assert connections.get_item(Key={"connectionId": "c0"}).get("Item") is None


def test_a_broadcast_to_many_listeners_goes_through_the_paged_fanout_and_forgets_the_gone(sim):
    from connection_handler import wiring
    from delivery.fanout import FewOrMany
    from delivery.notifier import Notifier
    from tests.unit.ws_harness import Gateway

    with mock_aws():
        sessions, connections = create_tables(boto3.resource("dynamodb", region_name="us-east-1"))
        gw = Gateway(sessions, connections)
        poster = poster_for(sim)
        gw.runtime = wiring.Runtime(
            service=gw.service,
            notifier=FewOrMany(Notifier(gw.api), PagedFanout(poster, None, page_size=50), threshold=100),
        )
        session_id = gw.start_session()
        for n in range(150):
            gw.connect(f"l{n}", query={"sessionId": session_id, "language": "es"})
            gw.now += 0.01
        gw.now += 120  # the listeners are past the $connect grace: a 410 now means gone
        sim.gone = {"l3", "l77"}
        gw.send("spk", {"action": "pauseBroadcast", "sessionId": session_id})
        poster.close()
    # The broadcast (the speaker and 150 listeners) through the HTTP sender...
    assert sorted(sim.received) == sorted(["spk", *(f"l{n}" for n in range(150))])
    assert all(json.loads(body) == {"type": "sessionPaused", "sessionId": session_id} for body in sim.bodies)
    # ...and the one follow-up through boto3: the two gone listeners were forgotten in one go.
    assert gw.last("spk") == {
        "type": "listenerStats",
        "sessionId": session_id,
        "listeners": {"es": 148},
        "total": 148,
    }
