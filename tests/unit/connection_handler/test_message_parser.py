"""connection_handler.parsing: any text gives an action or a ProtocolError, never anything else."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from connection_handler import messages as m
from connection_handler import routes
from connection_handler.parsing import MAX_DEPTH, MAX_NAME_CHARS, MAX_NUMBER_CHARS, MAX_PROBLEMS, parse_action
from local.kit.aws_fakes import create_tables
from shared.protocol import MAX_MESSAGE_BYTES, ErrorCode, ProtocolError
from shared.session_ids import SESSION_ID_PATTERN
from tests.unit.ws_harness import Gateway

# deadline=None and no too_slow check: the machine is shared, so nothing here depends on timing.
# database=None: no .hypothesis/ directory in the work tree; a failure prints its reproduction blob.
FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PARSE_CODES = {
    ErrorCode.MESSAGE_TOO_LARGE,
    ErrorCode.INVALID_JSON,
    ErrorCode.INVALID_MESSAGE,
    ErrorCode.UNKNOWN_ACTION,
}

SESSION_ID = "brave-otter-0001"
VALID_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "createSession": [
        {"action": "createSession", "sourceLanguage": "en"},
        {
            "action": "createSession",
            "sourceLanguage": "en",
            "title": "Keynote",
            "resumeSessionId": SESSION_ID,
        },
        {"action": "createSession", "sourceLanguage": "ja", "title": None},
    ],
    "joinSession": [{"action": "joinSession", "sessionId": SESSION_ID, "targetLanguage": "es"}],
    "switchLanguage": [{"action": "switchLanguage", "targetLanguage": "fr"}],
    "audioChunk": [
        {"action": "audioChunk", "sessionId": SESSION_ID, "seq": 0, "data": "GkXfo59C"},
        {"action": "audioChunk", "sessionId": SESSION_ID, "seq": 10_000_000, "data": "AAAA"},
    ],
    "pauseBroadcast": [{"action": "pauseBroadcast", "sessionId": SESSION_ID}],
    "resumeBroadcast": [{"action": "resumeBroadcast", "sessionId": SESSION_ID}],
    "endSession": [{"action": "endSession", "sessionId": SESSION_ID}],
    "heartbeat": [{"action": "heartbeat"}],
    "getTranscript": [{"action": "getTranscript", "sessionId": SESSION_ID, "language": "es"}],
}
ALL_EXAMPLES = [example for examples in VALID_EXAMPLES.values() for example in examples]
FIELD_NAMES = sorted({key for example in ALL_EXAMPLES for key in example} | {"title", "resumeSessionId"})


def outcome(body: str | None) -> m.Action | ProtocolError:
    """parse_action's answer; any exception other than ProtocolError fails the test."""
    try:
        return parse_action(body)
    except ProtocolError as error:
        return error


def refused(body: str | None) -> ProtocolError:
    result = outcome(body)
    assert isinstance(result, ProtocolError), result
    assert result.message
    return result


def assert_parse_contract(body: str) -> None:
    result = outcome(body)
    if isinstance(result, ProtocolError):
        assert result.code in PARSE_CODES, (result.code, result.message)
        assert result.message
        return
    assert isinstance(result, m.Action)
    raw = json.loads(body)
    assert isinstance(result, m.ACTIONS[raw["action"]])
    assert result.model_dump(exclude_unset=True) == raw


# --- strategies -----------------------------------------------------------------------------------------

any_char = st.one_of(st.characters(codec="utf-8"), st.characters(categories=["Cs"]))  # incl. lone surrogates
jsonish_text = st.text(alphabet=st.sampled_from(list('{}[]":,0123456789-+.eE \\nulrtfsaNIy')), max_size=200)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**300), max_value=10**300),  # far past any bound, below json's own limit
    st.floats(),  # includes NaN and +/-Infinity, which json.dumps writes as bare constants
    st.text(max_size=50),
    st.text(alphabet=any_char, max_size=10),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10)), children, max_size=4),
    ),
    max_leaves=40,
)


def serialize(value: Any, ensure_ascii: bool, indent: int | None) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)


@st.composite
def mutated_messages(draw: st.DrawFn) -> dict[str, Any]:
    message = dict(draw(st.sampled_from(ALL_EXAMPLES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        operation = draw(st.sampled_from(["drop", "alter", "add"]))
        if operation == "drop" and message:
            message.pop(draw(st.sampled_from(sorted(message))))
        elif operation == "alter" and message:
            message[draw(st.sampled_from(sorted(message)))] = draw(json_values)
        else:
            key = draw(st.one_of(st.sampled_from(FIELD_NAMES), st.text(alphabet=any_char, max_size=20)))
            message[key] = draw(json_values)
    return message


session_ids = st.from_regex(SESSION_ID_PATTERN, fullmatch=True, alphabet=st.characters(codec="ascii"))
languages = st.text(min_size=2, max_size=5)  # the model checks length only; the service checks the table
titles = st.one_of(st.none(), st.text(max_size=120))
audio = st.binary(min_size=3, max_size=2000).map(lambda data: base64.b64encode(data).decode())


def _optional(fields: dict[str, Any], **maybe: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    extras = st.fixed_dictionaries({}, optional=maybe)
    return extras.map(lambda extra: {**fields, **extra})


valid_messages = st.one_of(
    st.fixed_dictionaries({"action": st.just("createSession"), "sourceLanguage": languages}).flatmap(
        lambda fields: _optional(fields, title=titles, resumeSessionId=session_ids)
    ),
    st.fixed_dictionaries(
        {"action": st.just("joinSession"), "sessionId": session_ids, "targetLanguage": languages}
    ),
    st.fixed_dictionaries({"action": st.just("switchLanguage"), "targetLanguage": languages}),
    st.fixed_dictionaries(
        {
            "action": st.just("audioChunk"),
            "sessionId": session_ids,
            "seq": st.integers(min_value=0, max_value=10_000_000),
            "data": audio,
        }
    ),
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(["pauseBroadcast", "resumeBroadcast", "endSession"]),
            "sessionId": session_ids,
        }
    ),
    st.just({"action": "heartbeat"}),
)


# --- properties -----------------------------------------------------------------------------------------


@FUZZ
@given(st.one_of(st.text(), st.text(alphabet=any_char), jsonish_text))
def test_any_text_gives_an_action_or_a_parse_error(body):
    assert_parse_contract(body)


@FUZZ
@given(json_values, st.booleans(), st.sampled_from([None, 0, 2]))
def test_any_json_value_gives_an_action_or_a_parse_error(value, ensure_ascii, indent):
    assert_parse_contract(serialize(value, ensure_ascii, indent))


@FUZZ
@given(mutated_messages(), st.booleans())
def test_mutated_messages_of_every_action_give_an_action_or_a_parse_error(message, ensure_ascii):
    assert_parse_contract(serialize(message, ensure_ascii, None))


@FUZZ
@given(valid_messages, st.booleans(), st.sampled_from([None, 0, 2]))
def test_valid_messages_always_parse_to_their_model(message, ensure_ascii, indent):
    action = parse_action(serialize(message, ensure_ascii, indent))
    assert type(action) is m.ACTIONS[message["action"]]
    assert action.model_dump(exclude_unset=True) == message


def test_every_action_has_valid_examples():
    assert set(VALID_EXAMPLES) == set(m.ACTIONS)
    for example in ALL_EXAMPLES:
        assert type(parse_action(json.dumps(example))) is m.ACTIONS[example["action"]]


# --- explicit hostile inputs ----------------------------------------------------------------------------


def audio_chunk_with_seq(seq_literal: str) -> str:
    return f'{{"action":"audioChunk","sessionId":"{SESSION_ID}","seq":{seq_literal},"data":"AAAA"}}'


def test_a_5000_digit_integer_is_refused_before_json_parses_it():
    error = refused(audio_chunk_with_seq("9" * 5000))
    assert error.code == ErrorCode.INVALID_MESSAGE
    assert f"longer than {MAX_NUMBER_CHARS} characters" in error.message


def test_number_length_bound_is_exact():
    at_bound = refused(audio_chunk_with_seq("1" + "0" * (MAX_NUMBER_CHARS - 1)))
    assert at_bound.code == ErrorCode.INVALID_MESSAGE and at_bound.message.startswith(
        "seq:"
    )  # the model's range
    over = refused(audio_chunk_with_seq("1" + "0" * MAX_NUMBER_CHARS))
    assert over.code == ErrorCode.INVALID_MESSAGE and "longer than" in over.message
    negative_float = "-2.2250738585072014e-308"  # the longest repr of a double
    assert len(negative_float) == MAX_NUMBER_CHARS
    assert refused(audio_chunk_with_seq(negative_float)).message.startswith("seq:")


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000, '{"a":' * 50_000, "[" * 100_000 + "]" * 100_000],
    ids=["open-brackets-100k", "nested-objects-50k", "balanced-100k"],
)
def test_deep_nesting_over_the_size_limit_is_too_large(body):
    assert refused(body).code == ErrorCode.MESSAGE_TOO_LARGE


@pytest.mark.parametrize(
    "body",
    [
        "[" * 30_000,
        '{"a":' * 6_000,
        "[" * 5_000 + "]" * 5_000,  # valid JSON that json.loads would answer with RecursionError
        '{"action":"heartbeat","x":' + "[" * (MAX_DEPTH) + "]" * (MAX_DEPTH) + "}",
    ],
    ids=["open-brackets-30k", "nested-objects-6k", "balanced-5k", "one-past-the-bound"],
)
def test_deep_nesting_within_the_size_limit_is_refused_by_the_prescan(body):
    assert len(body.encode()) <= MAX_MESSAGE_BYTES
    error = refused(body)
    assert error.code == ErrorCode.INVALID_MESSAGE
    assert f"more than {MAX_DEPTH} deep" in error.message


def test_nesting_at_the_bound_reaches_the_model():
    body = '{"action":"heartbeat","x":' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    error = refused(body)
    assert error.code == ErrorCode.INVALID_MESSAGE and error.message.startswith("x:")  # extra field refused


def test_brackets_numbers_and_escaped_quotes_inside_strings_are_not_counted():
    title = '[[[[[[[[[[{{{{{{ 123456789012345678901234567890 \\" [[[[[[[[[[ \\\\'
    body = '{"action":"createSession","sourceLanguage":"en","title":"' + title + '"}'
    action = parse_action(body)
    assert isinstance(action, m.CreateSession)
    assert action.title == json.loads(body)["title"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_invalid_json(constant):
    error = refused(audio_chunk_with_seq(constant))
    assert error.code == ErrorCode.INVALID_JSON and constant in error.message


def test_a_number_past_a_double_is_refused():
    assert refused(audio_chunk_with_seq("1e400")).code == ErrorCode.INVALID_MESSAGE


@pytest.mark.parametrize(
    "body",
    [
        '{"action":"heartbeat","action":"heartbeat"}',
        '{"action":"joinSession","sessionId":"brave-otter-0001","targetLanguage":"es","targetLanguage":"fr"}',
        '{"action":"heartbeat","x":{"a":1,"a":2}}',
    ],
    ids=["same-value", "different-value", "nested"],
)
def test_duplicate_keys_are_refused(body):
    error = refused(body)
    assert error.code == ErrorCode.INVALID_MESSAGE and "appears more than once" in error.message


def test_size_bound_is_in_utf8_bytes():
    assert refused(None).code == ErrorCode.MESSAGE_TOO_LARGE
    assert refused(" " * (MAX_MESSAGE_BYTES + 1)).code == ErrorCode.MESSAGE_TOO_LARGE
    two_byte_chars = "é" * (MAX_MESSAGE_BYTES // 2 + 1)  # few characters, too many bytes
    assert refused(f'{{"action":"createSession","sourceLanguage":"en","title":"{two_byte_chars}"}}').code == (
        ErrorCode.MESSAGE_TOO_LARGE
    )


def test_32_kb_plus_one_is_too_large():
    prefix, suffix = '{"action":"heartbeat","pad":"', '"}'
    body = prefix + "x" * (MAX_MESSAGE_BYTES + 1 - len(prefix) - len(suffix)) + suffix
    assert len(body.encode()) == MAX_MESSAGE_BYTES + 1
    assert refused(body).code == ErrorCode.MESSAGE_TOO_LARGE


def test_exactly_32_kb_of_valid_json_with_an_unknown_action_is_unknown_action():
    prefix, suffix = '{"action":"', '"}'
    body = prefix + "x" * (MAX_MESSAGE_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(body.encode()) == MAX_MESSAGE_BYTES
    error = refused(body)
    assert error.code == ErrorCode.UNKNOWN_ACTION
    assert "x" * MAX_NAME_CHARS + "...'" in error.message and len(error.message) < 300


def test_lone_surrogates_are_refused():
    raw = refused('{"action":"heartbeat"}\ud800')  # not UTF-8 text at all
    assert raw.code == ErrorCode.INVALID_JSON
    escaped = refused('{"action":"createSession","sourceLanguage":"en","title":"\\ud800"}')
    assert escaped.code == ErrorCode.INVALID_MESSAGE and "'title'" in escaped.message
    pair = parse_action('{"action":"createSession","sourceLanguage":"en","title":"\\ud83c\\udf99"}')
    assert isinstance(pair, m.CreateSession) and pair.title == "\N{STUDIO MICROPHONE}"


def test_many_unknown_fields_are_listed_briefly():
    fields = {f"{'k' * 100}{n}": n for n in range(MAX_PROBLEMS + 5)}
    error = refused(json.dumps({"action": "heartbeat", **fields}))
    assert error.code == ErrorCode.INVALID_MESSAGE
    assert error.message.endswith("and 5 more") and "k" * (MAX_NAME_CHARS + 1) not in error.message


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", ErrorCode.INVALID_JSON),
        ("{not json", ErrorCode.INVALID_JSON),
        ("\ufeff{}", ErrorCode.INVALID_JSON),
        ('{"action":"heartbeat"', ErrorCode.INVALID_JSON),
        ('"\\', ErrorCode.INVALID_JSON),
        ("[1, 2]", ErrorCode.INVALID_MESSAGE),
        ('{"action": 1}', ErrorCode.INVALID_MESSAGE),
        ('{"action":"dance"}', ErrorCode.UNKNOWN_ACTION),
        (
            '{"action":"audioChunk","sessionId":"brave-otter-0001","seq":true,"data":"AAAA"}',
            ErrorCode.INVALID_MESSAGE,
        ),
        (
            '{"action":"audioChunk","sessionId":"brave-otter-0001","seq":1.0,"data":"AAAA"}',
            ErrorCode.INVALID_MESSAGE,
        ),
    ],
)
def test_other_refusals(body, code):
    assert refused(body).code == code


# --- through the real handler ---------------------------------------------------------------------------


@pytest.fixture
def gw():
    with mock_aws():
        sessions, connections = create_tables(boto3.resource("dynamodb", region_name="us-east-1"))
        yield Gateway(sessions, connections)


def test_the_handler_uses_the_bounded_parser():
    from connection_handler import parsing

    assert routes.parse_action is parsing.parse_action


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (audio_chunk_with_seq("9" * 5000), "INVALID_MESSAGE"),
        ("[" * 5_000 + "]" * 5_000, "INVALID_MESSAGE"),
        ('{"a":' * 6_000, "INVALID_MESSAGE"),
        ("[" * 100_000, "MESSAGE_TOO_LARGE"),
        ('{"action":"heartbeat","seq":NaN}', "INVALID_JSON"),
        ('{"action":"heartbeat","action":"heartbeat"}', "INVALID_MESSAGE"),
    ],
    ids=["5000-digits", "nested-5k", "nested-objects-6k", "nested-100k", "nan", "duplicate-key"],
)
def test_hostile_frames_get_one_error_and_the_connection_carries_on(gw, body, code):
    gw.connect("l1")
    assert gw.send("l1", body)["statusCode"] == 200
    replies = gw.api.to("l1")
    assert len(replies) == 1
    assert replies[0]["type"] == "error" and replies[0]["code"] == code and replies[0]["message"]
    gw.send("l1", {"action": "heartbeat"})
    replies = gw.api.to("l1")
    assert len(replies) == 2 and replies[1] == {"type": "heartbeat", "serverTime": int(gw.now * 1000)}
