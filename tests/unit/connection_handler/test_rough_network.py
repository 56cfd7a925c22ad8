"""A talk survives a rough network: speaker drops, chunks in any order, resends,
venues behind one address, 410s during $connect, hostile $connect queries."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from moto import mock_aws

from connection_handler.limits import Limits
from delivery.audience import Audience, SessionFull
from local.kit.aws_fakes import AtomicWrites, create_tables
from local.kit.captures import capture
from tests.unit.ws_harness import Gateway, b64

CHUNKS = capture("en-welcome").chunks


@pytest.fixture
def gw():
    with mock_aws():
        sessions, connections = create_tables(boto3.resource("dynamodb", region_name="us-east-1"))
        yield Gateway(sessions, connections)


def chunk(session_id: str, seq: int) -> dict:
    return {
        "action": "audioChunk",
        "sessionId": session_id,
        "seq": seq,
        "data": b64(CHUNKS[seq]),
    }


def errors(gw: Gateway, connection_id: str) -> list[str]:
    return [m["code"] for m in gw.api.to(connection_id) if m["type"] == "error"]


def types(gw: Gateway, connection_id: str) -> list[str]:
    return [m["type"] for m in gw.api.to(connection_id)]


def resume(gw: Gateway, session_id: str, connection_id: str = "spk-2") -> dict:
    gw.connect(connection_id, role="speaker")
    gw.send(connection_id, {"action": "createSession", "sourceLanguage": "en", "resumeSessionId": session_id})
    return gw.api.to(connection_id)[0]


def test_a_speaker_who_drops_and_comes_back_within_the_grace_period_carries_on(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    for seq in range(3):
        gw.send("spk", chunk(session_id, seq))
    gw.disconnect("spk")
    assert types(gw, "l1") == ["sessionSuspended"]
    gw.now += 30
    created = resume(gw, session_id)
    assert created["type"] == "sessionCreated" and created["resumed"] is True
    assert (created["status"], created["lastSeq"]) == ("active", 2)  # the app resends what came after
    assert gw.last("l1") == {"type": "sessionResumed", "sessionId": session_id}
    gw.send("spk-2", chunk(session_id, 3))
    assert [p.get("seq") for p in gw.forwarded] == [0, 1, 2, 3]
    gw.now += 200
    gw.fire_timers()  # the old timer finds the session live again and does nothing
    assert "sessionEnded" not in types(gw, "l1")
    assert errors(gw, "spk-2") == []


def test_the_session_ends_and_flushes_once_when_the_grace_period_passes(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    gw.send("spk", chunk(session_id, 0))
    gw.disconnect("spk")
    gw.now += 119
    gw.fire_timers()
    assert types(gw, "l1") == ["sessionSuspended"]
    gw.now += 1
    gw.fire_timers()
    assert types(gw, "l1") == ["sessionSuspended", "sessionEnded"]
    assert [p for p in gw.forwarded if p.get("endOfStream")] == [
        {"sessionId": session_id, "endOfStream": True, "finalSeq": 0}
    ]
    late = resume(gw, session_id)
    assert (late["type"], late["code"]) == ("error", "SESSION_ENDED")


def test_a_late_resume_ends_the_session_even_if_the_timer_was_lost(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    gw.disconnect("spk")
    gw.timers.scheduled.clear()  # the delayed message never arrives
    gw.now += 121
    late = resume(gw, session_id)
    assert late["code"] == "SESSION_ENDED"
    assert gw.last("l1")["type"] == "sessionEnded"
    assert len([p for p in gw.forwarded if p.get("endOfStream")]) == 1


def test_a_paused_broadcast_is_still_paused_after_the_speaker_comes_back(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "fr"})
    gw.send("spk", {"action": "pauseBroadcast", "sessionId": session_id})
    gw.disconnect("spk")
    created = resume(gw, session_id)
    assert created["status"] == "paused"
    assert gw.last("l1") == {"type": "sessionPaused", "sessionId": session_id}


def test_only_the_latest_suspension_can_end_the_session(gw):
    session_id = gw.start_session()
    gw.disconnect("spk")
    gw.now += 100
    resume(gw, session_id, "spk-2")
    gw.now += 10
    gw.disconnect("spk-2")  # a second drop, 10 s after coming back
    gw.now += 15  # the first timer is due now, the second is not
    gw.fire_timers()
    assert gw.sessions_table.get_item(Key={"sessionId": session_id})["Item"]["status"] == "suspended"
    gw.now += 120
    gw.fire_timers()
    assert gw.sessions_table.get_item(Key={"sessionId": session_id})["Item"]["status"] == "ended"


def test_end_session_still_ends_at_once(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    gw.send("spk", {"action": "endSession", "sessionId": session_id})
    assert gw.last("l1")["reason"] == "endedBySpeaker"
    gw.disconnect("spk")
    assert types(gw, "l1") == ["sessionEnded"]
    assert gw.timers.scheduled == []


def test_chunk_zero_arriving_last_is_taken_like_every_other(gw):
    session_id = gw.start_session()
    order = [3, 1, 2, 4, 0]
    for seq in order:
        gw.send("spk", chunk(session_id, seq))
    assert [p["seq"] for p in gw.forwarded] == order
    assert errors(gw, "spk") == []
    gw.send("spk", {"action": "endSession", "sessionId": session_id})
    assert gw.forwarded[-1]["finalSeq"] == 4  # the highest seq, whatever the order


def test_chunks_overtaken_by_the_end_are_still_taken_and_nothing_after_them(gw):
    session_id = gw.start_session()
    for seq in (0, 1, 2):
        gw.send("spk", chunk(session_id, seq))
    # On AWS endSession may be handled before the last chunks the app sent ahead of it.
    gw.send("spk", {"action": "endSession", "sessionId": session_id, "lastSeq": 5})
    assert gw.forwarded[-1] == {"sessionId": session_id, "endOfStream": True, "finalSeq": 5}
    for seq in (4, 3, 5):
        gw.send("spk", chunk(session_id, seq))
    assert errors(gw, "spk") == []
    assert [p["seq"] for p in gw.forwarded if "seq" in p] == [0, 1, 2, 4, 3, 5]
    gw.send("spk", chunk(session_id, 6))  # never announced: after the end
    assert errors(gw, "spk") == ["SESSION_ENDED"]
    gw.connect("other", role="speaker")
    gw.send("other", chunk(session_id, 4))  # only the session's own speaker
    assert errors(gw, "other") == ["SESSION_NOT_FOUND"]  # another's session, ended or not: unknown


def test_an_end_claiming_far_more_chunks_than_were_sent_is_held_to_the_window(gw):
    session_id = gw.start_session()
    gw.send("spk", chunk(session_id, 0))
    gw.send("spk", {"action": "endSession", "sessionId": session_id, "lastSeq": 9_000_000})
    assert gw.forwarded[-1]["finalSeq"] == 0 + gw.limits.max_seq_jump


def test_a_chunk_answered_with_internal_error_can_be_resent(gw):
    session_id = gw.start_session()
    gw.send("spk", chunk(session_id, 0))
    gw.forward_failures = 1
    gw.send("spk", chunk(session_id, 1))
    refused = gw.last("spk")
    assert (refused["code"], refused["action"], refused["seq"]) == ("INTERNAL_ERROR", "audioChunk", 1)
    gw.send("spk", chunk(session_id, 1))
    assert [p["seq"] for p in gw.forwarded] == [0, 1]
    assert errors(gw, "spk") == ["INTERNAL_ERROR"]


def test_a_rate_limited_chunk_names_its_seq(gw):
    gw.limits = Limits(chunks_per_second=1)
    gw.__post_init__()
    session_id = gw.start_session()
    gw.send("spk", chunk(session_id, 0))
    gw.send("spk", chunk(session_id, 1))
    assert {k: gw.last("spk")[k] for k in ("code", "seq")} == {"code": "RATE_LIMITED", "seq": 1}
    gw.now += 1
    gw.send("spk", chunk(session_id, 1))
    assert [p["seq"] for p in gw.forwarded] == [0, 1]


def test_a_whole_venue_behind_one_address_gets_in_within_a_minute(gw):
    session_id = gw.start_session()
    for n in range(500):
        gw.connect(f"l{n}", ip="203.0.113.50")
        gw.send(
            f"l{n}",
            {"action": "joinSession", "sessionId": session_id, "targetLanguage": "es" if n % 2 else "fr"},
        )
        gw.now += 0.1  # 500 joins in 50 s
    assert sum(errors(gw, f"l{n}") != [] for n in range(500)) == 0
    gw.fire_timers()  # the trailing count after the last second's joins
    assert gw.last("spk") == {
        "type": "listenerStats",
        "sessionId": session_id,
        "listeners": {"es": 250, "fr": 250},
        "total": 500,
    }


def test_a_storm_of_500_joins_in_one_second_is_refused_nothing_and_costs_the_speaker_two_messages(gw):
    session_id = gw.start_session()
    before = len(gw.api.to("spk"))
    for n in range(500):  # API Gateway's default rate of new connections, all in one second
        gw.connect(f"l{n}", ip=f"203.0.113.{n % 200}")
        gw.send(f"l{n}", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "es"})
    assert [n for n in range(500) if errors(gw, f"l{n}")] == []
    stats = gw.api.to("spk")[before:]
    assert [m["total"] for m in stats] == [1]  # the first join of the second, at once
    assert gw.timers.stats == [(session_id, 1)]  # one trailing count for the other 499
    gw.fire_timers()
    assert gw.last("spk") == {
        "type": "listenerStats",
        "sessionId": session_id,
        "listeners": {"es": 500},
        "total": 500,
    }


def test_a_renewing_listener_is_not_counted_against_the_cap_and_its_token_is_single_use(gw):
    gw.limits = Limits(max_listeners=1)
    gw.__post_init__()
    session_id = gw.start_session()
    gw.connect("old")
    gw.send("old", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "es"})
    token = gw.last("old")["rejoinToken"]
    renew = {"action": "joinSession", "sessionId": session_id, "targetLanguage": "es", "rejoinToken": token}
    gw.connect("new")
    gw.send("new", renew)  # the old connection is still open: the session is full
    assert gw.last("new")["type"] == "sessionJoined"
    gw.disconnect("old")
    assert gw.last("spk")["listeners"] == {"es": 1}
    gw.connect("thief")
    gw.send("thief", renew)
    assert errors(gw, "thief") == ["SESSION_FULL"]


def test_a_410_during_connect_does_not_remove_a_joining_listener(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    gw.api.gone.add("l1")  # API Gateway answers 410 while $connect has not returned
    gw.send("spk", {"action": "pauseBroadcast", "sessionId": session_id})
    assert gw.connections_table.get_item(Key={"connectionId": "l1"}).get("Item") is not None
    assert gw.service.ports.audience.counts(session_id) == {"es": 1}


def test_a_410_for_the_speaker_leaves_its_disconnect_to_suspend_the_session(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    gw.now += 60
    gw.api.gone.add("spk")
    gw.connect("l2")
    gw.send("l2", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "es"})  # stats hit 410
    assert gw.connections_table.get_item(Key={"connectionId": "spk"}).get("Item") is not None
    gw.disconnect("spk")
    assert gw.last("l1")["type"] == "sessionSuspended"


def test_a_second_create_session_on_one_connection_is_refused_until_the_first_ends(gw):
    session_id = gw.start_session()
    gw.send("spk", {"action": "createSession", "sourceLanguage": "en"})
    assert errors(gw, "spk") == ["SESSION_IN_PROGRESS"]
    gw.send("spk", {"action": "endSession", "sessionId": session_id})
    gw.send("spk", {"action": "createSession", "sourceLanguage": "en"})
    assert gw.last("spk")["type"] == "sessionCreated" and gw.last("spk")["sessionId"] != session_id


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"sessionId": "../x", "language": "es"}, 400, "INVALID_MESSAGE"),
        ({"sessionId": "a/b", "language": "es"}, 400, "INVALID_MESSAGE"),
        ({"sessionId": "brave-otter-0001"}, 400, "INVALID_MESSAGE"),
        ({"sessionId": "brave-otter-0001", "language": "es" * 40}, 400, "INVALID_MESSAGE"),
        ({"sessionId": "brave-otter-0001", "language": "es"}, 404, "SESSION_NOT_FOUND"),
    ],
)
def test_hostile_connect_queries_get_a_documented_refusal_and_leave_nothing_behind(gw, query, status, code):
    result = gw.connect("l1", query=query)
    assert result["statusCode"] == status
    assert json.loads(result["body"])["code"] == code
    assert gw.connections_table.get_item(Key={"connectionId": "l1"}).get("Item") is None


def test_counts_follow_joins_switches_and_leaves(gw):
    session_id = gw.start_session()
    for n, language in enumerate(["es", "es", "fr"]):
        gw.connect(f"l{n}", query={"sessionId": session_id, "language": language})
    gw.send("l0", {"action": "switchLanguage", "targetLanguage": "fr"})
    assert gw.last("spk")["listeners"] == {"es": 1, "fr": 2}
    gw.send("l0", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "fr"})  # joins again
    assert gw.last("spk")["listeners"] == {"es": 1, "fr": 2}
    gw.disconnect("l1")
    gw.disconnect("l1")  # a repeated $disconnect counts once
    assert gw.last("spk") == {
        "type": "listenerStats",
        "sessionId": session_id,
        "listeners": {"fr": 2},
        "total": 2,
    }


def test_concurrent_joins_never_exceed_the_cap(gw):
    session_id = gw.start_session()
    audience = Audience(AtomicWrites(gw.sessions_table), gw.connections_table, lambda: gw.now)
    for n in range(24):
        gw.connections_table.put_item(Item={"connectionId": f"c{n}", "role": "listener"})
    admitted: list[str] = []

    def join(n: int) -> None:
        try:
            audience.admit(f"c{n}", session_id, "es", cap=5)
            admitted.append(f"c{n}")
        except SessionFull:
            pass

    threads = [threading.Thread(target=join, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 5
    assert audience.counts(session_id) == {"es": 5}
