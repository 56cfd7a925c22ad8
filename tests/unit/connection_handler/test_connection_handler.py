"""connection_handler: every route and its error paths, over moto DynamoDB."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from connection_handler.limits import Limits
from local.kit.aws_fakes import create_tables
from local.kit.captures import CAPTURES
from tests.unit.ws_harness import Gateway, b64

CHUNK0 = (CAPTURES / "en-welcome" / "chunk-0000.webm").read_bytes()
CHUNK1 = (CAPTURES / "en-welcome" / "chunk-0001.webm").read_bytes()


@pytest.fixture
def gw():
    with mock_aws():
        sessions, connections = create_tables(boto3.resource("dynamodb", region_name="us-east-1"))
        yield Gateway(sessions, connections)


def errors(gw: Gateway, connection_id: str) -> list[str]:
    return [m["code"] for m in gw.api.to(connection_id) if m["type"] == "error"]


def test_speaker_creates_a_session_with_a_friendly_id_and_join_link(gw):
    session_id = gw.start_session()
    created = gw.last("spk")
    assert created["sourceLanguage"] == "en" and created["title"] == "Keynote"
    assert created["listenerUrl"] == f"https://app.example/listener?session={session_id}"
    adjective, noun, number = session_id.split("-")
    assert adjective.isalpha() and noun.isalpha() and len(number) == 4
    item = gw.sessions_table.get_item(Key={"sessionId": session_id})["Item"]
    assert item["status"] == "active" and item["speakerConnectionId"] == "spk" and item["ttl"] > gw.now


def test_listener_joins_by_query_string_and_speaker_gets_counts(gw):
    session_id = gw.start_session()
    assert gw.connect("l1", query={"sessionId": session_id, "language": "es"})["statusCode"] == 200
    # Nothing is posted to a connection during its own $connect: API Gateway would answer 410.
    assert gw.api.to("l1") == []
    listener = gw.connections_table.get_item(Key={"connectionId": "l1"})["Item"]
    assert (listener["sessionId"], listener["targetLanguage"]) == (session_id, "es")
    assert gw.last("spk")["listeners"] == {"es": 1}
    gw.connect("l2")
    gw.send("l2", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "fr"})
    assert gw.last("spk")["total"] == 1  # a second join in the same second waits for the timer
    gw.fire_timers()
    assert gw.last("spk") == {
        "type": "listenerStats",
        "sessionId": session_id,
        "listeners": {"es": 1, "fr": 1},
        "total": 2,
    }
    gw.send("l2", {"action": "switchLanguage", "targetLanguage": "es"})
    assert gw.last("l2")["targetLanguage"] == "es"
    assert gw.last("spk")["listeners"] == {"es": 2}
    gw.disconnect("l1")
    assert gw.last("spk")["listeners"] == {"es": 1}


def test_connect_to_unknown_session_is_refused_with_a_clear_status(gw):
    result = gw.connect("l1", query={"sessionId": "brave-otter-0001", "language": "es"})
    assert result["statusCode"] == 404
    assert json.loads(result["body"])["code"] == "SESSION_NOT_FOUND"
    assert gw.connections_table.get_item(Key={"connectionId": "l1"}).get("Item") is None


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", "INVALID_JSON"),
        ("[1, 2]", "INVALID_MESSAGE"),
        ({"action": "dance"}, "UNKNOWN_ACTION"),
        ({"action": "joinSession", "sessionId": "x"}, "INVALID_MESSAGE"),
        (
            {"action": "joinSession", "sessionId": "brave-otter-0001", "targetLanguage": "es", "extra": 1},
            "INVALID_MESSAGE",
        ),
        (
            {"action": "joinSession", "sessionId": "brave-otter-0001", "targetLanguage": "es"},
            "SESSION_NOT_FOUND",
        ),
        ("x" * 40000, "MESSAGE_TOO_LARGE"),
        ({"action": "switchLanguage", "targetLanguage": "es"}, "NOT_JOINED"),
    ],
)
def test_bad_messages_get_error_replies(gw, message, code):
    gw.connect("l1")
    assert gw.send("l1", message)["statusCode"] == 200
    reply = gw.last("l1")
    assert reply["type"] == "error" and reply["code"] == code and reply["message"]


def test_unsupported_language_is_refused(gw):
    session_id = gw.start_session()
    gw.connect("l1")
    gw.send("l1", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "xx"})
    assert errors(gw, "l1") == ["UNSUPPORTED_LANGUAGE"]
    gw.connect("spk2", role="speaker")
    gw.send("spk2", {"action": "createSession", "sourceLanguage": "ca"})  # target-only language
    assert errors(gw, "spk2") == ["UNSUPPORTED_LANGUAGE"]


def test_listeners_cannot_act_as_speakers(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    for message in (
        {"action": "createSession", "sourceLanguage": "en"},
        {"action": "audioChunk", "sessionId": session_id, "seq": 0, "data": b64(CHUNK0)},
        {"action": "pauseBroadcast", "sessionId": session_id},
        {"action": "endSession", "sessionId": session_id},
    ):
        gw.send("l1", message)
        assert gw.last("l1")["code"] == "FORBIDDEN"
        assert gw.last("l1")["action"] == message["action"]
    assert gw.forwarded == []


def test_another_speaker_cannot_control_the_session(gw):
    session_id = gw.start_session()
    gw.connect("intruder", role="speaker")
    gw.send("intruder", {"action": "endSession", "sessionId": session_id})
    assert gw.last("intruder")["code"] == "SESSION_NOT_FOUND"  # the same answer as an unknown code
    gw.send("intruder", {"action": "audioChunk", "sessionId": session_id, "seq": 0, "data": b64(CHUNK0)})
    assert gw.last("intruder")["code"] == "SESSION_NOT_FOUND"
    assert gw.sessions_table.get_item(Key={"sessionId": session_id})["Item"]["status"] == "active"


def test_audio_chunks_are_taken_in_any_order_and_a_resend_is_stored_again(gw):
    session_id = gw.start_session()
    gw.send("spk", {"action": "audioChunk", "sessionId": session_id, "seq": 1, "data": b64(CHUNK1)})
    gw.send("spk", {"action": "audioChunk", "sessionId": session_id, "seq": 0, "data": b64(CHUNK0)})
    gw.send("spk", {"action": "audioChunk", "sessionId": session_id, "seq": 1, "data": b64(CHUNK1)})  # resend
    # Storing is by key: the resend writes the same object again, which changes nothing.
    assert [(p["seq"], p["sessionId"]) for p in gw.forwarded] == [
        (1, session_id),
        (0, session_id),
        (1, session_id),
    ]
    assert gw.sessions_table.get_item(Key={"sessionId": session_id})["Item"]["lastSeq"] == 1
    assert errors(gw, "spk") == []


def test_audio_chunk_validation(gw):
    session_id = gw.start_session()
    cases = [
        ({"seq": 0, "data": b64(CHUNK1)}, "INVALID_AUDIO"),  # chunk 0 must carry the WebM header
        ({"seq": -1, "data": b64(CHUNK1)}, "INVALID_MESSAGE"),
        ({"seq": "1", "data": b64(CHUNK1)}, "INVALID_MESSAGE"),
        ({"seq": 1, "data": "***not base64***"}, "INVALID_MESSAGE"),
        ({"seq": 5000, "data": b64(CHUNK1)}, "SEQ_OUT_OF_RANGE"),
    ]
    for fields, code in cases:
        gw.send("spk", {"action": "audioChunk", "sessionId": session_id, **fields})
        assert gw.last("spk")["code"] == code, fields
    assert gw.forwarded == []


def test_chunk_rate_is_limited_per_speaker(gw):
    gw.limits = Limits(chunks_per_second=3)
    gw.__post_init__()
    session_id = gw.start_session()
    for seq in range(5):
        data = CHUNK0 if seq == 0 else CHUNK1
        gw.send("spk", {"action": "audioChunk", "sessionId": session_id, "seq": seq, "data": b64(data)})
    assert len(gw.forwarded) == 3
    assert errors(gw, "spk") == ["RATE_LIMITED", "RATE_LIMITED"]
    gw.now += 1
    gw.send("spk", {"action": "audioChunk", "sessionId": session_id, "seq": 5, "data": b64(CHUNK1)})
    assert len(gw.forwarded) == 4


def test_listener_limit_and_join_rate_limits(gw):
    gw.limits = Limits(max_listeners=2, joins_per_ip_per_minute=5, misses_per_ip_per_minute=2)
    gw.__post_init__()
    session_id = gw.start_session()
    for n in range(6):  # all from one address (the harness's default source IP)
        gw.connect(f"l{n}")
        gw.send(f"l{n}", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "es"})
    assert [errors(gw, f"l{n}") for n in range(6)] == [[], [], *[["SESSION_FULL"]] * 3, ["RATE_LIMITED"]]
    for n in range(3):  # guessing codes: unknown codes from one address are limited on their own
        gw.connect(f"x{n}", ip="192.0.2.1")
        gw.send(f"x{n}", {"action": "joinSession", "sessionId": "brave-otter-0001", "targetLanguage": "es"})
    assert [errors(gw, f"x{n}") for n in range(3)] == [["SESSION_NOT_FOUND"]] * 2 + [["RATE_LIMITED"]]


def test_pause_resume_are_broadcast_and_paused_audio_is_refused(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    gw.send("spk", {"action": "pauseBroadcast", "sessionId": session_id})
    assert gw.last("l1") == {"type": "sessionPaused", "sessionId": session_id}
    gw.send("spk", {"action": "audioChunk", "sessionId": session_id, "seq": 0, "data": b64(CHUNK0)})
    assert gw.last("spk")["code"] == "BROADCAST_PAUSED"
    gw.send("spk", {"action": "resumeBroadcast", "sessionId": session_id})
    assert gw.last("l1") == {"type": "sessionResumed", "sessionId": session_id}


def test_end_session_tells_everyone_and_flushes_the_audio(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    gw.send("spk", {"action": "audioChunk", "sessionId": session_id, "seq": 0, "data": b64(CHUNK0)})
    gw.send("spk", {"action": "endSession", "sessionId": session_id})
    assert gw.last("l1") == {"type": "sessionEnded", "sessionId": session_id, "reason": "endedBySpeaker"}
    assert gw.last("spk")["type"] == "sessionEnded"
    assert gw.forwarded[-1] == {"sessionId": session_id, "endOfStream": True, "finalSeq": 0}
    gw.connect("late")
    gw.send("late", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "es"})
    assert errors(gw, "late") == ["SESSION_ENDED"]


def test_speaker_disconnect_suspends_the_session_and_the_grace_period_ends_it(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "fr"})
    gw.disconnect("spk")
    assert gw.last("l1") == {
        "type": "sessionSuspended",
        "sessionId": session_id,
        "reason": "speakerDisconnected",
        "resumeBy": int(gw.now) + 120,
    }
    assert gw.forwarded == []  # nothing is flushed while the speaker may come back
    gw.now += 120
    gw.fire_timers()
    assert gw.last("l1") == {"type": "sessionEnded", "sessionId": session_id, "reason": "speakerDisconnected"}
    assert gw.forwarded[-1] == {"sessionId": session_id, "endOfStream": True, "finalSeq": -1}


def test_speaker_renews_its_connection_without_ending_the_session(gw):
    session_id = gw.start_session()
    gw.connect("spk-new", role="speaker")
    gw.send("spk-new", {"action": "createSession", "sourceLanguage": "en", "resumeSessionId": session_id})
    assert gw.last("spk-new")["type"] in {"sessionCreated", "listenerStats"}
    assert any(m.get("resumed") for m in gw.api.to("spk-new"))
    gw.disconnect("spk")  # the old connection closes after the renewal
    item = gw.sessions_table.get_item(Key={"sessionId": session_id})["Item"]
    assert item["status"] == "active" and item["speakerConnectionId"] == "spk-new"


def test_session_maximum_duration(gw):
    gw.limits = Limits(session_max_seconds=60)
    gw.__post_init__()
    session_id = gw.start_session()
    gw.now += 61
    gw.send("spk", {"action": "audioChunk", "sessionId": session_id, "seq": 0, "data": b64(CHUNK0)})
    assert gw.last("spk")["code"] == "SESSION_EXPIRED"
    gw.send("spk", {"action": "endSession", "sessionId": session_id})
    assert gw.last("spk")["type"] == "sessionEnded"


def test_vanished_listener_is_removed_when_a_broadcast_hits_410(gw):
    session_id = gw.start_session()
    gw.connect("l1", query={"sessionId": session_id, "language": "es"})
    gw.connect("l2", query={"sessionId": session_id, "language": "es"})
    gw.api.gone.add("l2")
    gw.now += 60  # long past $connect: a 410 now means the connection is gone
    gw.send("spk", {"action": "pauseBroadcast", "sessionId": session_id})
    assert gw.connections_table.get_item(Key={"connectionId": "l2"}).get("Item") is None
    assert gw.connections_table.get_item(Key={"connectionId": "l1"}).get("Item") is not None


def test_heartbeat_answers_with_server_time(gw):
    gw.connect("l1")
    gw.send("l1", {"action": "heartbeat"})
    assert gw.last("l1") == {"type": "heartbeat", "serverTime": int(gw.now * 1000)}


def test_unexpected_failure_is_reported_not_raised(gw, monkeypatch):
    gw.connect("l1")

    def boom(*_args, **_kwargs):
        raise RuntimeError("dynamodb exploded")

    from connection_handler import routes

    monkeypatch.setitem(routes.ROUTES, "heartbeat", lambda service: lambda caller, action: boom())
    assert gw.send("l1", {"action": "heartbeat"})["statusCode"] == 200
    assert gw.last("l1")["code"] == "INTERNAL_ERROR"


def test_a_deployment_that_serves_fewer_pairs_refuses_the_others_clearly(gw):
    from shared.languages import ServedPairs

    gw.runtime.service.ports.served = ServedPairs.parse("en:es,fr")
    session_id = gw.start_session()
    gw.connect("l1")
    gw.send("l1", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "de"})
    error = gw.last("l1")
    assert error["code"] == "UNSUPPORTED_LANGUAGE"
    assert "cannot translate en into de" in error["message"] and "en, es, fr" in error["message"]
    gw.send("l1", {"action": "joinSession", "sessionId": session_id, "targetLanguage": "es"})
    assert gw.last("l1")["type"] == "sessionJoined"
    gw.connect("spk2", role="speaker")
    gw.send("spk2", {"action": "createSession", "sourceLanguage": "ja"})
    assert gw.last("spk2")["code"] == "UNSUPPORTED_LANGUAGE"


def test_language_pairs_parse_and_format_round_trip():
    from shared.languages import ServedPairs

    pairs = ServedPairs.parse("en:es,fr;es:en,pt")
    assert pairs.serves("en", "en") and pairs.serves("en", "fr") and not pairs.serves("en", "pt")
    assert ServedPairs.parse(pairs.format()) == pairs
    assert ServedPairs.parse("").serves("ja", "nl")
