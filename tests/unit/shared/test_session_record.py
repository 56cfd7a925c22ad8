"""The session record: what is written is what is read back, through DynamoDB itself."""

from __future__ import annotations

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from local.kit.aws_fakes import create_tables
from shared import resources
from shared.session_ids import new_session_id
from shared.session_record import SessionRecord

records = st.builds(
    SessionRecord,
    session_id=st.builds(new_session_id),
    status=st.sampled_from(["active", "paused", "suspended", "ended"]),
    source_language=st.sampled_from(["en", "es", "fr"]),
    title=st.text(max_size=20),
    speaker_connection_id=st.text(alphabet="abcXYZ=", min_size=1, max_size=12),
    speaker_user_id=st.text(alphabet="abc-123", min_size=1, max_size=12),
    created_at_ms=st.integers(0, 2**45),
    expires_at=st.integers(0, 2**33),
    ttl=st.integers(0, 2**33),
    last_seq=st.integers(-1, 10**6),
    final_seq=st.integers(-1, 10**6),
    ended_at_ms=st.none() | st.integers(0, 2**45),
    suspended_at_ms=st.none() | st.integers(0, 2**45),
    resume_status=st.sampled_from(["active", "paused"]),
    listener_total=st.integers(0, 5000),
    listener_counts=st.dictionaries(st.sampled_from(["es", "fr", "de"]), st.integers(1, 5000)),
)


@pytest.fixture(scope="module")
def table():
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        sessions, _ = create_tables(dynamodb)
        yield sessions


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=records)
def test_a_record_written_to_dynamodb_reads_back_the_same(table, record: SessionRecord) -> None:
    table.put_item(Item=record.to_item())
    item = table.get_item(Key={resources.SESSIONS_PARTITION_KEY: record.session_id}).get("Item")
    assert SessionRecord.from_item(item) == record


def test_a_new_session_item_has_exactly_the_attributes_it_is_created_with() -> None:
    item = SessionRecord(
        session_id="abcd-1234",
        speaker_connection_id="c1",
        speaker_user_id="u1",
        source_language="es",
        created_at_ms=1_000,
        expires_at=20,
        ttl=3620,
    ).to_item()
    # No seq, end or suspension yet; the listener counters exist so their keys can be updated.
    assert item == {
        "sessionId": "abcd-1234",
        "status": "active",
        "sourceLanguage": "es",
        "title": "",
        "speakerConnectionId": "c1",
        "speakerUserId": "u1",
        "createdAt": 1_000,
        "expiresAt": 20,
        "ttl": 3620,
        "listenerTotal": 0,
        "listenerCounts": {},
    }


def test_a_projection_reads_with_the_other_fields_at_their_defaults() -> None:
    record = SessionRecord.from_item({"speakerConnectionId": "c9"})
    assert record.speaker_connection_id == "c9"
    assert (record.last_seq, record.final_seq, record.suspended_at_ms) == (-1, -1, None)


def test_counts_of_languages_nobody_listens_to_are_left_out() -> None:
    record = SessionRecord.from_item({"sessionId": "s", "listenerCounts": {"es": 2, "fr": 0}})
    assert record.listener_counts == {"es": 2}


def test_update_attributes_are_named_from_the_fields() -> None:
    assert SessionRecord.attributes(status="ended", final_seq=7, ended_at_ms=5) == {
        "status": "ended",
        "finalSeq": 7,
        "endedAt": 5,
    }
    with pytest.raises(TypeError, match="lastseq"):
        SessionRecord.attributes(lastseq=1)
