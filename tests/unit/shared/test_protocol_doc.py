"""docs/PROTOCOL.md names every action, error code and language the code knows."""

from __future__ import annotations

import re

from connection_handler.messages import ACTIONS
from infra import constants
from local.paths import ROOT
from shared import protocol
from shared.languages import LANGUAGES, is_source_language
from shared.protocol import SERVER_MESSAGE_TYPES, ErrorCode

CAPTION = protocol.Caption("es", 0, "hola", "hello", 0, 1000)
DOC = (ROOT / "docs" / "PROTOCOL.md").read_text()


def test_every_action_is_documented_and_routed():
    for action in ACTIONS:
        assert f"| `{action}` |" in DOC, action
    assert tuple(ACTIONS) == protocol.CLIENT_ACTIONS == constants.CLIENT_ACTIONS


def test_every_error_code_is_documented():
    for code in ErrorCode:
        assert f"| `{code.value}` |" in DOC, code


def test_language_lists_match_the_table():
    sources = ", ".join(f"`{c}`" for c in LANGUAGES if is_source_language(c))
    targets = ", ".join(f"`{c}`" for c in LANGUAGES if not is_source_language(c))
    assert f"Source (speakable) languages: {sources}." in DOC
    assert f"Target-only languages: {targets}." in DOC


def test_every_server_message_type_is_documented():
    server_messages = DOC.split("## Server messages")[1].split("## Languages")[0]
    first_cells = [line.split("|")[1] for line in server_messages.splitlines() if line.startswith("| `")]
    for message_type in SERVER_MESSAGE_TYPES:
        assert any(f"`{message_type}`" in cell for cell in first_cells), message_type


def test_each_builder_makes_a_message_of_a_listed_type():
    built = [
        protocol.session_created("s", "en", "t", "https://x/listener?session=s", 1),
        protocol.session_created("s", "en", "t", "", 1, protocol.Resumed(status="paused", last_seq=4)),
        protocol.session_joined("s", "es", "en", "t", "active", ["es"], rejoin_token="tok"),
        protocol.session_status("sessionPaused", "s"),
        protocol.session_status("sessionResumed", "s"),
        protocol.session_suspended("s", 1),
        protocol.session_ended("s", "endedBySpeaker"),
        protocol.heartbeat(1),
        protocol.transcript("s", 0, "hello", 0, 1000),
        protocol.partial_transcript("s", 0, "hello", "wor"),
        protocol.provisional_caption("s", protocol.Provisional("es", 0, 0, "hola,", "hello,", 0, 900)),
        protocol.translated_text("s", CAPTION),
        protocol.translated_audio("s", protocol.Clip(CAPTION, "https://x", 1, 900)),
        protocol.listener_stats("s", {"es": 1}),
        protocol.transcript_ready("s", "es", {"txt": "https://x"}, 1, 1),
        protocol.error_message(protocol.ErrorCode.INTERNAL_ERROR, "x"),
    ]
    assert {message["type"] for message in built} == set(SERVER_MESSAGE_TYPES)
    resumed = built[1]
    assert (resumed["resumed"], resumed["status"], resumed["lastSeq"]) == (True, "paused", 4)


def test_messages_are_built_by_the_protocol_module_only():
    """A message written inline elsewhere would be a second definition of its fields."""
    lambdas = ROOT / "lambdas"
    inline = [
        str(path.relative_to(lambdas))
        for path in lambdas.rglob("*.py")
        if path.name != "protocol.py" and re.search(r'"type":\s*"', path.read_text())
    ]
    assert inline == []
