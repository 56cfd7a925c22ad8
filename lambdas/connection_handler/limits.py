"""The protocol's limits, defined once: docs/PROTOCOL.md §Limits states them and
tests/unit/connection_handler/test_limits_doc.py holds the documents to these values."""

from __future__ import annotations

from dataclasses import dataclass

from shared import resources


@dataclass(frozen=True)
class Limits:
    max_listeners: int = 5000
    # A venue puts thousands of listeners behind one public address: the per-address
    # ceiling only stops floods; the per-session rate paces a join storm (API Gateway
    # opens ~500 connections a second by default: a storm that size passes).
    joins_per_ip_per_minute: int = 6000
    joins_per_session_per_second: int = 1000
    # Misses: a session code that is unknown, or names a session the caller may not use,
    # on any action. Guessing codes is what these stop. A connection is stopped first; its
    # address only after many phones' worth of misses, so one attendee cannot lock a
    # venue out (and a rejoin token is honoured before either).
    misses_per_connection_per_minute: int = 10
    misses_per_ip_per_minute: int = 120
    chunks_per_second: int = 20  # MediaRecorder sends ~4/s; the rest is catch-up after a reconnect
    session_max_seconds: int = resources.SESSION_MAX_SECONDS
    # How far past the highest stored chunk a seq may be: what the speaker app may resend
    # after a reconnect (600 unsent + 240 kept, speaker-app/src/chunks.ts), so an outage as
    # long as the grace period is resent whole (tests/unit/connection_handler/test_worker_limits.py).
    max_seq_jump: int = 840
    connection_ttl_seconds: int = resources.CONNECTION_TTL_SECONDS
    speaker_grace_seconds: int = 120
    # Each transcript request may build the files from every utterance so far (the
    # transcripts function reuses a build for TRANSCRIPT_REUSE_SECONDS, or while no new
    # utterance arrived): per connection (a speaker asks once per language), per address
    # and per session, so that no crowd and no script can keep the function busy.
    transcripts_per_connection_per_minute: int = 6
    transcripts_per_ip_per_minute: int = 600
    transcripts_per_session_per_minute: int = 600
