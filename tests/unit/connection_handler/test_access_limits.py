"""Private talks stay private, and no one floods or locks out a venue: one answer for an
unknown session and one the caller may not use, misses counted on every action (also
under concurrency), rejoin tokens that move one seat, and a venue's shared address."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from connection_handler import messages as m
from connection_handler.context import Caller, Ports
from connection_handler.counters import RateCounters
from connection_handler.limits import Limits
from connection_handler.service import SessionService
from connection_handler.store import ConnectionRepository, SessionRepository
from delivery.audience import Audience
from local.kit.aws_fakes import AtomicWrites, create_tables
from local.kit.captures import CAPTURES
from shared.protocol import ProtocolError
from tests.unit.ws_harness import FakeTimers, Gateway, b64

CHUNK0 = (CAPTURES / "en-welcome" / "chunk-0000.webm").read_bytes()
UNKNOWN = "brave-otter-0001"
VENUE = "203.0.113.9"


@pytest.fixture
def tables():
    with mock_aws():
        yield create_tables(boto3.resource("dynamodb", region_name="us-east-1"))


def gateway(tables: tuple[Any, Any], **limits: int) -> Gateway:
    return Gateway(*tables, limits=Limits(**limits))


def reply(gw: Gateway, connection_id: str, message: dict[str, Any]) -> dict[str, Any]:
    gw.send(connection_id, message)
    return gw.last(connection_id)


def join(gw: Gateway, connection_id: str, session_id: str, token: str | None = None, ip: str = VENUE) -> dict:
    """joinSession from `ip`, on a new connection unless `connection_id` is open."""
    if not gw.connections_table.get_item(Key={"connectionId": connection_id}).get("Item"):
        gw.connect(connection_id, ip=ip)
    message = {"action": "joinSession", "sessionId": session_id, "targetLanguage": "es"}
    if token:
        message["rejoinToken"] = token
    gw.call(gw._event(connection_id, "MESSAGE", "joinSession", body=json.dumps(message), ip=ip))
    return gw.last(connection_id)


def listener_total(gw: Gateway, session_id: str) -> int:
    return int(gw.sessions_table.get_item(Key={"sessionId": session_id})["Item"]["listenerTotal"])


# -- 1. the same answer for an unknown session and one the caller may not use ---------------

# Every action that names a session, sent by a caller who may not use the victim's session.
PROBES: dict[str, tuple[str, Any]] = {
    "audioChunk": (
        "speaker",
        lambda s: {"action": "audioChunk", "sessionId": s, "seq": 0, "data": b64(CHUNK0)},
    ),
    "pauseBroadcast": ("speaker", lambda s: {"action": "pauseBroadcast", "sessionId": s}),
    "resumeBroadcast": ("speaker", lambda s: {"action": "resumeBroadcast", "sessionId": s}),
    "endSession": ("speaker", lambda s: {"action": "endSession", "sessionId": s}),
    "createSession": (
        "speaker",
        lambda s: {"action": "createSession", "sourceLanguage": "en", "resumeSessionId": s},
    ),
    "getTranscript/speaker": (
        "speaker",
        lambda s: {"action": "getTranscript", "sessionId": s, "language": "en"},
    ),
    "getTranscript/listener": (
        "listener",
        lambda s: {"action": "getTranscript", "sessionId": s, "language": "es"},
    ),
}


def test_every_action_that_names_a_session_is_probed():
    naming = {
        name
        for name, model in m.ACTIONS.items()
        if {"sessionId", "resumeSessionId"} & set(model.model_fields)
    }
    # joinSession names a session anyone with its code may join: only unknown codes miss there.
    assert naming - {"joinSession"} == {probe.split("/")[0] for probe in PROBES}


@pytest.mark.parametrize("ended", [False, True], ids=["live", "ended"])
@pytest.mark.parametrize("probe", list(PROBES))
def test_an_unknown_session_and_a_forbidden_one_get_the_same_error(tables, probe, ended):
    gw = gateway(tables)
    victim = gw.start_session("victim")
    gw.sessions_table.update_item(  # another signed-in user's session
        Key={"sessionId": victim},
        UpdateExpression="SET speakerUserId = :u",
        ExpressionAttributeValues={":u": "u2"},
    )
    if ended:
        gw.send("victim", {"action": "endSession", "sessionId": victim})
    role, build = PROBES[probe]
    gw.connect("probe", role=role)
    if role == "listener":  # the listener of another session: its own binding is checked first
        own = gw.start_session("spk-own")
        gw.send("probe", {"action": "joinSession", "sessionId": own, "targetLanguage": "es"})
    forbidden = reply(gw, "probe", build(victim))
    unknown = reply(gw, "probe", build(UNKNOWN))
    assert forbidden["code"] == unknown["code"] == "SESSION_NOT_FOUND"
    assert forbidden["message"].replace(victim, UNKNOWN) == unknown["message"]
    assert gw.transcript_requests == [] and [p for p in gw.forwarded if "seq" in p] == []


# -- misses: counted on every action, per connection first, atomically ----------------------


def test_misses_on_any_action_count_against_the_connection(tables):
    gw = gateway(tables, misses_per_connection_per_minute=4)
    live = gw.start_session()
    gw.connect("spk-x", role="speaker")
    for probe in ("audioChunk", "endSession", "createSession", "getTranscript/speaker"):
        assert reply(gw, "spk-x", PROBES[probe][1](UNKNOWN))["code"] == "SESSION_NOT_FOUND", probe
    assert reply(gw, "spk-x", PROBES["pauseBroadcast"][1](live))["code"] == "RATE_LIMITED"
    gw.connect("lis-x")
    gw.send("lis-x", {"action": "getTranscript", "sessionId": live, "language": "es"})  # not joined: a miss
    for _ in range(3):
        assert join(gw, "lis-x", UNKNOWN)["code"] == "SESSION_NOT_FOUND"
    assert join(gw, "lis-x", live)["code"] == "RATE_LIMITED"  # blocked before the code is looked up
    assert join(gw, "lis-y", live)["type"] == "sessionJoined"  # the address is not


def test_a_block_lasts_a_minute_from_the_miss_that_reached_the_limit(tables):
    gw = gateway(tables, misses_per_connection_per_minute=3)
    live = gw.start_session()
    assert gw.now % 60 == 0  # the limit is reached late in a calendar minute
    for second in (0, 20, 50):
        gw.now += second - (gw.now % 60)
        assert join(gw, "lis", UNKNOWN)["code"] == "SESSION_NOT_FOUND"
    gw.now += 15  # a new calendar minute: still blocked
    assert join(gw, "lis", live)["code"] == "RATE_LIMITED"
    gw.now += 44  # 59 s after the third miss
    assert join(gw, "lis", live)["code"] == "RATE_LIMITED"
    gw.now += 1
    assert join(gw, "lis", live)["type"] == "sessionJoined"


def service(tables: tuple[Any, Any], limits: Limits) -> SessionService:
    sessions, connections = AtomicWrites(tables[0]), AtomicWrites(tables[1])
    ports = Ports(
        sessions=SessionRepository(sessions),
        connections=ConnectionRepository(connections),
        audience=Audience(sessions, connections, lambda: 1_800_000_000.0),
        forward=lambda payload: None,
        timers=FakeTimers(),
        clock=lambda: 1_800_000_000.0,
        limits=limits,
    )
    return SessionService.build(ports, RateCounters(sessions))


def _join(svc: SessionService, caller: Caller) -> str:
    action = m.JoinSession(action="joinSession", sessionId=UNKNOWN, targetLanguage="es")
    try:
        svc.listeners.join_session(caller, action)
    except ProtocolError as error:
        return error.code.value
    return "joined"


@pytest.mark.parametrize("shared", ["address", "connection"])
def test_sixteen_concurrent_misses_admit_no_more_than_the_limit(tables, shared):
    limits = Limits(
        misses_per_connection_per_minute=5 if shared == "connection" else 100, misses_per_ip_per_minute=5
    )
    svc = service(tables, limits)
    callers = [Caller("c0" if shared == "connection" else f"c{n}", "listener", "", VENUE) for n in range(16)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda c: _join(svc, c), callers))
    assert sorted(answers) == ["RATE_LIMITED"] * 11 + ["SESSION_NOT_FOUND"] * 5


# -- 3. a rejoin token moves one seat ----------------------------------------------------------


def test_a_token_chain_seats_one_listener(tables):
    gw = gateway(tables, max_listeners=3)
    session_id = gw.start_session()
    token = first_token = join(gw, "l0", session_id, ip="192.0.2.1")["rejoinToken"]
    for n in range(1, 21):
        joined = join(gw, f"l{n}", session_id, token, ip="192.0.2.1")
        assert joined["type"] == "sessionJoined"
        token = joined["rejoinToken"]
    assert listener_total(gw, session_id) == 1
    assert gw.runtime.service.ports.connections.listeners(session_id) == [("l20", "es")]
    assert reply(gw, "l3", {"action": "switchLanguage", "targetLanguage": "fr"})["code"] == "NOT_JOINED"
    # A token is spent once: the first one again is a new listener's join, within the cap.
    again = [
        join(gw, "again0", session_id, first_token),
        join(gw, "again1", session_id),
        join(gw, "again2", session_id),
    ]
    assert [a.get("code", a["type"]) for a in again] == ["sessionJoined", "sessionJoined", "SESSION_FULL"]


def test_one_live_token_per_connection_and_a_closed_connections_seat_is_not_kept(tables):
    gw = gateway(tables, max_listeners=2)
    session_id = gw.start_session()
    first = join(gw, "l1", session_id)["rejoinToken"]
    second = join(gw, "l1", session_id)["rejoinToken"]  # the same connection joins again
    assert gw.sessions_table.get_item(Key={"sessionId": f"rejoin#{first}"}).get("Item") is None
    assert gw.sessions_table.get_item(Key={"sessionId": f"rejoin#{second}"}).get("Item") is not None
    assert listener_total(gw, session_id) == 1
    gw.disconnect("l1")  # its seat is freed and taken by others
    assert [join(gw, f"l{n}", session_id)["type"] for n in (2, 3)] == ["sessionJoined"] * 2
    assert join(gw, "l1-again", session_id, second)["code"] == "SESSION_FULL"  # no seat past the cap


# -- 4. one abusive phone cannot lock a venue out ------------------------------------------------


def test_a_venue_with_one_abusive_phone_still_admits_500_joins_and_every_token_rejoin(tables):
    gw = gateway(tables)
    session_id = gw.start_session()
    gw.connect("abuser", ip=VENUE)
    answers = [join(gw, "abuser", f"brave-otter-{n:04d}")["code"] for n in range(1, 41)]
    assert answers == ["SESSION_NOT_FOUND"] * 10 + ["RATE_LIMITED"] * 30
    tokens = [join(gw, f"l{n}", session_id)["rejoinToken"] for n in range(500)]
    assert listener_total(gw, session_id) == 500
    # Many phones of abusers can block the address for new joins, never for token re-joins.
    for phone in range(13):
        for n in range(10):
            join(gw, f"abuser{phone}", f"brave-otter-{100 + phone * 10 + n:04d}")
    assert join(gw, "newcomer", session_id)["code"] == "RATE_LIMITED"
    rejoined = [join(gw, f"r{n}", session_id, token)["type"] for n, token in enumerate(tokens)]
    assert rejoined == ["sessionJoined"] * 500
    assert listener_total(gw, session_id) == 500
