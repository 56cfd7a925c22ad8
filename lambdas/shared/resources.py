"""Names and keys that the stacks, the Lambda functions and the local runner share.

One source of truth: the CDK stacks create resources with these names and keys,
the handlers read and write them, and the local runner recreates them in moto.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SESSIONS_TABLE_PATTERN = "Sessions-{env}"
CONNECTIONS_TABLE_PATTERN = "Connections-{env}"

SESSIONS_PARTITION_KEY = "sessionId"
CONNECTIONS_PARTITION_KEY = "connectionId"
LISTENERS_BY_LANGUAGE_INDEX = "sessionId-targetLanguage-index"
LISTENERS_INDEX_PARTITION_KEY = "sessionId"
LISTENERS_INDEX_SORT_KEY = "targetLanguage"
TTL_ATTRIBUTE = "ttl"
# Partition-key prefix of rejoin tokens in the Sessions table: connection_handler/store.py
# writes them, and the stack limits the handler's DeleteItem on that table to it.
REJOIN_KEY_PREFIX = "rejoin#"

# Powertools idempotency's defaults; the processor's delivery ledger shares the table.
IDEMPOTENCY_PARTITION_KEY = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"

# A session lasts at most this long (its item expires then); a connection record expires
# after CONNECTION_TTL_SECONDS (API Gateway closes a connection after 2 h).
SESSION_MAX_SECONDS = 4 * 3600
CONNECTION_TTL_SECONDS = 3 * 3600

CHUNK_KEY_PREFIX = "sessions/"
CHUNK_KEY_SUFFIX = ".webm"


END_MARKER_NAME = "end"
_CHUNK_KEY = re.compile(
    rf"^{re.escape(CHUNK_KEY_PREFIX)}(?P<session>[^/]+)/chunks/(?P<name>\d{{10}}|{END_MARKER_NAME})"
    rf"{re.escape(CHUNK_KEY_SUFFIX)}$"
)


def chunk_prefix(session_id: str) -> str:
    return f"{CHUNK_KEY_PREFIX}{session_id}/chunks/"


def chunk_key(session_id: str, seq: int) -> str:
    """S3 key of one MediaRecorder chunk; zero-padded so keys sort in seq order."""
    return f"{chunk_prefix(session_id)}{seq:010d}{CHUNK_KEY_SUFFIX}"


def end_marker_key(session_id: str) -> str:
    """The end-of-stream marker ({"finalSeq": N}) written when a session ends; it sorts after
    every chunk key."""
    return f"{chunk_prefix(session_id)}{END_MARKER_NAME}{CHUNK_KEY_SUFFIX}"


@dataclass(frozen=True)
class ChunkKey:
    session_id: str
    seq: int | None  # None: the end-of-stream marker


def parse_chunk_key(key: str) -> ChunkKey | None:
    """What chunk_key or end_marker_key made this key of; None for any other key."""
    match = _CHUNK_KEY.match(key)
    if not match:
        return None
    name = match["name"]
    return ChunkKey(match["session"], None if name == END_MARKER_NAME else int(name))


def translated_clip_key(session_id: str, language: str, index: int) -> str:
    return f"sessions/{session_id}/translated/{language}/{index:06d}.mp3"


def function_name(base: str, env: str) -> str:
    """Deterministic function names let one stack grant access to a function of
    the other stack by ARN without a circular stack dependency."""
    return f"{base}-{env}"


def utterance_records_prefix(session_id: str) -> str:
    """What was said and delivered, one JSON object per utterance (transcripts are built from it)."""
    return f"sessions/{session_id}/utterances/"


def utterance_record_key(session_id: str, index: int) -> str:
    return f"{utterance_records_prefix(session_id)}{index:06d}.json"


def transcript_key(session_id: str, language: str, extension: str) -> str:
    return f"sessions/{session_id}/transcripts/{language}.{extension}"
