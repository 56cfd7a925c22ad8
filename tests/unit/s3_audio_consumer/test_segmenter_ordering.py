"""The segmenter as the worker runs it, on a real capture and a rough network: chunk 0
overtaken, chunks out of order, a chunk lost just before the end, chunk 0 never
coming; and the cursor store's claims, fenced by the worker's lease.

The real chunk writer stores chunks in moto S3 on a fake clock's schedule; the
production keyed chunk store reads them, with the hints the worker's heartbeat gives
(the connection handler's lastSeq, and the talk's last chunk once it is over); the
segmenter is polled every 100 ms as the worker polls it."""

from __future__ import annotations

import base64
import heapq
import logging
import random

import boto3
import numpy as np
import pytest
from moto import mock_aws

from chunk_writer.writer import ChunkWriter
from local.kit.captures import capture
from local.replay import BUCKET, MemoryCursorStore, create_bucket
from local.resources import create_sessions_table
from s3_audio_consumer.adapters import DynamoCursorStore
from s3_audio_consumer.decoder import FfmpegDecoder
from s3_audio_consumer.keyed_chunks import KeyedChunkStore
from s3_audio_consumer.planner import Batch, Cursor, PlanSettings
from s3_audio_consumer.segmenter import Segmenter
from shared import resources

SESSION = "steady-river-1234"
CAPTURE = capture("en-welcome")
CHUNKS = CAPTURE.chunks
LAST = len(CHUNKS) - 1
END = -1  # the talk's end (the session item says it is over), in schedules
START = 1_800_000_000.0
STEP = 0.3  # seconds between chunks (MediaRecorder timeslice 250 ms, ~300 ms clusters)
POLL = 0.1  # the worker's poll


@pytest.fixture(scope="module")
def full_decode() -> np.ndarray:
    return np.frombuffer(CAPTURE.pcm, dtype=np.int16)


def joined(batches: list[Batch]) -> np.ndarray:
    return np.frombuffer(b"".join(b.pcm for b in sorted(batches, key=lambda b: b.index)), dtype=np.int16)


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    error = reference.astype(float) - other.astype(float)
    return 10 * np.log10((reference.astype(float) ** 2).sum() / max((error**2).sum(), 1e-12))


def assert_whole_talk(batches: list[Batch], full_decode: np.ndarray) -> None:
    assert [b.index for b in batches] == list(range(len(batches))), "every index once, in order"
    pcm = joined(batches)
    assert len(pcm) == len(full_decode)
    assert snr_db(full_decode, pcm) >= 60


class Talk:
    """One session's chunks reaching S3 on a schedule, and the worker's segmenter."""

    def __init__(self, ffmpeg: str, **settings) -> None:
        self.now = START
        s3 = create_bucket(boto3.Session(region_name="us-east-1"))
        self.writer = ChunkWriter(s3, BUCKET)
        self.cursors = MemoryCursorStore("en")
        self.chunks = KeyedChunkStore(s3, BUCKET, lambda: self.now)
        self.scheduled: list[tuple[float, int, int]] = []
        self.batches: list[Batch] = []
        self.segmenter = Segmenter(
            cursors=self.cursors,
            chunks=self.chunks,
            decoder=FfmpegDecoder(ffmpeg),
            deliver=self.batches.append,
            settings=PlanSettings(max_chunks_per_read=self.chunks.read_ahead, **settings),
            clock=lambda: self.now,
        )

    @property
    def cursor(self) -> Cursor:
        state = self.cursors.load(SESSION)
        assert state is not None
        return state.cursor

    def store(self, seq: int) -> None:
        hints = self.chunks.hints
        if seq == END:
            hints.final_seq = LAST
            return
        self.writer.write({"sessionId": SESSION, "seq": seq, "data": base64.b64encode(CHUNKS[seq]).decode()})
        hints.last_seq = max(hints.last_seq, seq)

    def schedule(self, at: float, seq: int) -> None:
        heapq.heappush(self.scheduled, (START + at, len(self.scheduled), seq))

    def run_for(self, seconds: float) -> None:
        """The worker's loop for `seconds` of the fake clock: arrivals, then a poll."""
        until = self.now + seconds
        while self.now < until and not self.cursor.done:
            while self.scheduled and self.scheduled[0][0] <= self.now:
                self.store(heapq.heappop(self.scheduled)[2])
            self.segmenter.advance(SESSION)
            self.now += POLL


@pytest.fixture
def aws():
    with mock_aws():
        yield


def test_chunk_0_arriving_last_loses_nothing(aws, ffmpeg, full_decode):
    talk = Talk(ffmpeg)
    for seq in range(1, LAST + 1):
        talk.schedule(STEP * seq, seq)
    talk.run_for(STEP * LAST + 10)  # far past the 2 s a missing chunk is waited for
    assert talk.batches == [] and not talk.cursor.done, "chunk 0 is waited for, not given up"
    talk.schedule(talk.now - START, 0)
    talk.schedule(talk.now - START + 1, END)
    talk.run_for(30)
    assert_whole_talk(talk.batches, full_decode)
    assert talk.cursor.done
    assert talk.segmenter.counters.gaps == 0


def test_chunk_0_arriving_after_the_end_loses_nothing(aws, ffmpeg, full_decode):
    talk = Talk(ffmpeg)
    for seq in range(1, LAST + 1):
        talk.schedule(STEP * seq, seq)
    talk.schedule(STEP * (LAST + 1), END)
    talk.schedule(STEP * (LAST + 1) + 5, 0)  # a cold start delayed chunk 0's write by seconds
    talk.run_for(STEP * LAST + 30)
    assert_whole_talk(talk.batches, full_decode)
    assert talk.cursor.done


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_arrivals_within_the_wait_lose_nothing(aws, ffmpeg, full_decode, seed):
    rng = random.Random(seed)
    talk = Talk(ffmpeg)
    # Every chunk late by up to 1.5 s: overtaken by up to 5 later ones, but always
    # within the 2 s wait that starts when the first of them is seen.
    for seq in range(LAST + 1):
        talk.schedule(STEP * seq + rng.uniform(0, 1.5), seq)
    talk.schedule(STEP * LAST + 1.6, END)
    assert [s for _, _, s in sorted(talk.scheduled)][:-1] != list(range(LAST + 1)), "shuffled"
    talk.run_for(STEP * LAST + 30)
    assert talk.segmenter.counters.gaps == 0
    assert_whole_talk(talk.batches, full_decode)
    assert talk.cursor.done


@pytest.mark.parametrize("lost", [LAST - 1, LAST])
def test_a_chunk_lost_just_before_the_end_is_skipped_after_the_wait(aws, ffmpeg, full_decode, lost):
    talk = Talk(ffmpeg)
    for seq in range(LAST + 1):
        if seq != lost:
            talk.schedule(STEP * seq, seq)
    talk.schedule(STEP * (LAST + 1), END)
    talk.run_for(STEP * (LAST + 1) + 1.5)
    assert not talk.cursor.done, "within the 2 s wait the lost chunk may still come"
    talk.run_for(1.0)
    cursor = talk.cursor
    assert cursor.done and cursor.gaps == 1
    batches = talk.batches
    assert [b.index for b in batches] == list(range(len(batches)))
    assert batches[-1].last_seq == (LAST if lost != LAST else LAST - 1)
    full_ms = len(full_decode) // 16
    assert full_ms - 1000 <= sum(b.duration_ms for b in batches) < full_ms


@pytest.mark.parametrize("run", [9, 20])
def test_a_run_of_missing_chunks_longer_than_the_read_ahead_is_skipped_and_the_talk_goes_on(
    aws, ffmpeg, full_decode, run
):
    """The chunks after a gap are found with one LIST, however far they are."""
    talk = Talk(ffmpeg)
    first_lost = 20
    for seq in range(LAST + 1):
        if not first_lost <= seq < first_lost + run:
            talk.schedule(STEP * seq, seq)
    talk.schedule(STEP * (LAST + 1), END)
    talk.run_for(STEP * LAST + 30)
    assert talk.cursor.done and talk.cursor.gaps == 1
    batches = talk.batches
    assert batches[-1].last_seq == LAST
    after = next(b for b in batches if b.missed_ms > 0)
    assert after.first_seq >= first_lost + run
    assert run * STEP * 1000 - 700 <= after.missed_ms <= run * STEP * 1000 + 700
    assert talk.chunks.lists <= 5, "one LIST a second at most, while the gap is waited for"


def test_chunk_0_missing_long_after_the_end_ends_the_session_with_an_error(aws, ffmpeg, caplog):
    talk = Talk(ffmpeg)
    for seq in range(1, LAST + 1):
        talk.schedule(STEP * seq, seq)
    talk.schedule(STEP * (LAST + 1), END)
    with caplog.at_level(logging.ERROR, logger="s3_audio_consumer.segmenter"):
        talk.run_for(STEP * (LAST + 1) + 29)
        assert not talk.cursor.done, "chunk 0 is waited for 30 s after the end"
        talk.run_for(2)
    assert talk.cursor.done
    assert talk.batches == []
    assert any(r.levelno == logging.ERROR and "chunk 0" in r.getMessage() for r in caplog.records)


# -- the cursor store in the session item ---------------------------------------------------------------


def session_table(owner: str):  # type: ignore[no-untyped-def]
    table = create_sessions_table(boto3.resource("dynamodb", region_name="us-east-1"), "sessions-test")
    table.put_item(
        Item={
            resources.SESSIONS_PARTITION_KEY: SESSION,
            "sourceLanguage": "en",
            "status": "active",
            "worker": {"owner": owner},
        }
    )
    return table


def test_a_claim_is_conditional_on_the_cursor_it_was_planned_from(aws):
    cursors = DynamoCursorStore(session_table("w1"), "w1")
    first = Cursor(version=1, batch_index=1, init=b"init")
    assert cursors.claim(SESSION, 0, first)
    assert not cursors.claim(SESSION, 0, Cursor(version=1, batch_index=7)), "planned from an older cursor"
    state = cursors.load(SESSION)
    assert state is not None and state.cursor == first


def test_a_rewind_never_undoes_a_later_claim(aws):
    cursors = DynamoCursorStore(session_table("w1"), "w1")
    first = Cursor(version=1, batch_index=1, init=b"init")
    second = Cursor(version=2, batch_index=2, init=b"init")
    assert cursors.claim(SESSION, 0, first)
    assert cursors.claim(SESSION, 1, second)

    def stored() -> Cursor | None:
        state = cursors.load(SESSION)
        return state.cursor if state else None

    assert not cursors.restore(SESSION, written=first, previous=Cursor())
    assert stored() == second
    assert cursors.restore(SESSION, written=second, previous=first)
    assert stored() == Cursor(version=3, batch_index=1, init=b"init")
    assert not cursors.claim(SESSION, 2, second), "a claim planned from the rewound-over cursor loses"


def test_a_worker_that_lost_its_lease_can_no_longer_move_the_cursor(aws):
    table = session_table("w2")  # the lease moved on to w2
    stalled, current = DynamoCursorStore(table, "w1"), DynamoCursorStore(table, "w2")
    assert not stalled.claim(SESSION, 0, Cursor(version=1, batch_index=1))
    assert current.claim(SESSION, 0, Cursor(version=1, batch_index=1))
    assert not stalled.restore(SESSION, written=Cursor(version=1, batch_index=1), previous=Cursor())
    state = current.load(SESSION)
    assert state is not None and state.cursor.batch_index == 1
