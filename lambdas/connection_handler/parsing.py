"""One client frame to one validated action, with every hostile input bounded before it is parsed.

`parse_action` returns an `messages.Action` or raises `ProtocolError`; for any `str` (or `None`) it raises
nothing else. The checks run in this order and the first failure is the answer:

1. `MESSAGE_TOO_LARGE`: the body is missing (`None`), or is over `MAX_MESSAGE_BYTES` (32 KB = 32768 bytes)
   UTF-8 encoded. Exactly 32768 bytes passes.
2. `INVALID_JSON`: the body holds a lone surrogate code point (it is not UTF-8 text).
3. `INVALID_MESSAGE`: a linear pre-scan, outside JSON strings (escapes honoured), finds
   - arrays/objects nested more than `MAX_DEPTH` (8) deep (client messages are flat: depth 1), or
   - a run of number characters (`0-9 + - . e E`) longer than `MAX_NUMBER_CHARS` (24; the longest repr of a
     double, `-2.2250738585072014e-308`, and any 64-bit integer fit).
   This refuses, before `json.loads` sees them, the inputs that make it raise RecursionError (deep nesting)
   or ValueError (integers over Python's 4300-digit limit). The text may be valid JSON, so these are
   refusals of the message's shape, not of its syntax.
4. `INVALID_JSON`: `json.loads` fails (any ValueError, RecursionError or TypeError), or the text uses the
   non-JSON constants `NaN`, `Infinity` or `-Infinity`.
5. `INVALID_MESSAGE`: an object (at any depth) repeats a key (a typo-proof protocol: no "last one wins"), or
   a number overflows a double (`1e400`).
6. `INVALID_MESSAGE`: the value is not an object with a string `action`, or a top-level key or string value
   holds a lone surrogate escape (`"\\ud800"`: not Unicode text; it could not be stored or sent on).
7. `UNKNOWN_ACTION`: `action` names no action in `messages.ACTIONS`.
8. `INVALID_MESSAGE`: the action's model refuses the fields (missing, wrong type, out of range, unknown);
   the message lists the problems.

Client-supplied names quoted in error messages (the action, field names) are cut to `MAX_NAME_CHARS` (40)
characters, and at most `MAX_PROBLEMS` (10) problems are listed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import ValidationError

from connection_handler import messages as m
from shared.protocol import MAX_MESSAGE_BYTES, ErrorCode, ProtocolError

MAX_DEPTH = 8
MAX_NUMBER_CHARS = 24
MAX_NAME_CHARS = 40
MAX_PROBLEMS = 10

# One token of the pre-scan: a whole string (unrolled, so linear; it may be unterminated), an opening or
# closing bracket, or a run of number characters. Everything else (whitespace, `:`, `,`, letters of
# true/false/null) is skipped.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]|[-+.eE0-9]+', re.DOTALL)


def _cut(value: object) -> str:
    """A client-supplied name cut short enough for an error message."""
    text = str(value)
    return text if len(text) <= MAX_NAME_CHARS else text[:MAX_NAME_CHARS] + "..."


def _name(value: object) -> str:
    """A client-supplied name, quoted (repr escapes control characters and lone surrogates) and cut."""
    return repr(_cut(value))


def _is_text(value: str) -> bool:
    """False when the string holds a lone surrogate, which has no UTF-8 encoding."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_size(body: str | None) -> str:
    too_large = ProtocolError(
        ErrorCode.MESSAGE_TOO_LARGE, f"messages are limited to {MAX_MESSAGE_BYTES} bytes"
    )
    # Every character is at least one byte: a longer string is refused before it is encoded.
    if body is None or len(body) > MAX_MESSAGE_BYTES:
        raise too_large
    if len(body.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise too_large
    if not _is_text(body):
        raise ProtocolError(ErrorCode.INVALID_JSON, "the message is not valid UTF-8 text")
    return body


def _prescan(body: str) -> None:
    depth = 0
    for token in _TOKEN.finditer(body):
        first = token.group()[0]
        if first == '"':
            continue
        if first in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ProtocolError(
                    ErrorCode.INVALID_MESSAGE, f"the message nests arrays/objects more than {MAX_DEPTH} deep"
                )
        elif first in "]}":
            depth -= 1  # unbalanced text is left for json.loads to refuse
        elif token.end() - token.start() > MAX_NUMBER_CHARS:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE,
                f"the message holds a number longer than {MAX_NUMBER_CHARS} characters",
            )


def _refuse_constant(name: str) -> Any:
    raise ProtocolError(ErrorCode.INVALID_JSON, f"the message is not JSON: {name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"the number {text} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"the field {_name(key)} appears more than once")
        result[key] = value
    return result


def _load(body: str) -> Any:
    try:
        return json.loads(
            body, parse_constant=_refuse_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys
        )
    except ProtocolError:
        raise
    except json.JSONDecodeError as error:
        raise ProtocolError(ErrorCode.INVALID_JSON, f"the message is not JSON: {error.msg}") from error
    except (ValueError, RecursionError, TypeError) as error:
        raise ProtocolError(ErrorCode.INVALID_JSON, "the message is not JSON") from error


def _problems(error: ValidationError) -> str:
    found = error.errors(include_url=False, include_input=False)
    listed = [
        f"{'.'.join(_cut(part) for part in e['loc']) or 'message'}: {e['msg']}" for e in found[:MAX_PROBLEMS]
    ]
    if len(found) > MAX_PROBLEMS:
        listed.append(f"and {len(found) - MAX_PROBLEMS} more")
    return "; ".join(listed)


def parse_action(body: str | None) -> m.Action:
    """The action a client frame asks for; any refusal is a ProtocolError (the rules: module docstring)."""
    text = _check_size(body)
    _prescan(text)
    raw = _load(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("action"), str):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "a message is a JSON object with a string 'action'")
    for key, value in raw.items():
        if not _is_text(key) or (isinstance(value, str) and not _is_text(value)):
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE,
                f"the field {_name(key)} holds a lone surrogate escape (not Unicode)",
            )
    name = raw["action"]
    model = m.ACTIONS.get(name)
    if model is None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_ACTION, f"unknown action {_name(name)}; known: {', '.join(m.ACTIONS)}"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, _problems(error)) from error
    except (ValueError, TypeError, RecursionError) as error:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"the {name} message is not valid") from error
