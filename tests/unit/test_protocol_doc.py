"""docs/PROTOCOL.md names every action, error code and language the code knows."""

from __future__ import annotations

from pathlib import Path

from connection_handler.messages import ACTIONS
from infra import constants
from shared.languages import LANGUAGES, is_source_language
from shared.protocol import ErrorCode

DOC = (Path(__file__).parents[2] / "docs" / "PROTOCOL.md").read_text()


def test_every_action_is_documented_and_routed():
    for action in ACTIONS:
        assert f"| `{action}` |" in DOC, action
    assert set(ACTIONS) == set(constants.CLIENT_ACTIONS)


def test_every_error_code_is_documented():
    for code in ErrorCode:
        assert f"| `{code.value}` |" in DOC, code


def test_language_lists_match_the_table():
    sources = ", ".join(f"`{c}`" for c in LANGUAGES if is_source_language(c))
    targets = ", ".join(f"`{c}`" for c in LANGUAGES if not is_source_language(c))
    assert f"Source (speakable) languages: {sources}." in DOC
    assert f"Target-only languages: {targets}." in DOC


def test_every_server_message_type_is_documented():
    import re

    sent_types: set[str] = set()
    for path in (Path(__file__).parents[2] / "lambdas").rglob("*.py"):
        sent_types.update(re.findall(r'"type": "(\w+)"', path.read_text()))
    assert sent_types >= {"transcript", "translatedAudio", "listenerStats", "error"}
    server_messages = DOC.split("## Server messages")[1].split("## Languages")[0]
    for message_type in sent_types:
        assert f"`{message_type}`" in server_messages, message_type
