"""s3_audio_consumer on a rough network, on a real capture: chunk 0 overtaken, chunks out
of order, a chunk lost just before the end marker, a failed hand-off.

One fake clock drives the consumer and the chunks' S3 timestamps; the consumer's sleep
advances it and lets the chunks scheduled meanwhile arrive, as they would while a
Lambda sleeps. Each arrival's event is then processed in arrival order."""

from __future__ import annotations

import base64
import heapq
import logging
import random
from collections import deque
from collections.abc import Callable

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chunk_writer.writer import ChunkWriter
from local.kit.captures import CAPTURES
from local.replay import BUCKET, S3ChunkStore, create_resources, load_chunks
from s3_audio_consumer.adapters import DynamoCursorStore
from s3_audio_consumer.batcher import (
    Batch,
    Batcher,
    BatchSettings,
    Cursor,
    DeadlineReached,
    Listing,
)
from s3_audio_consumer.decoder import FfmpegDecoder

SESSION = "steady-river-1234"
CHUNKS = load_chunks(CAPTURES / "en-welcome")
LAST = len(CHUNKS) - 1
END = None  # the end-of-stream marker, in schedules
START = 1_800_000_000.0
BUDGET = 55.0  # what one invocation may run: the 60 s timeout minus the handler's margin
STEP = 0.3  # seconds between chunks (MediaRecorder timeslice 250 ms, ~300 ms clusters)


@pytest.fixture(scope="module")
def full_decode(ffmpeg) -> np.ndarray:
    return np.frombuffer(FfmpegDecoder(ffmpeg).decode(b"".join(CHUNKS)), dtype=np.int16)


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


class TimedChunks:
    """S3 chunks with the fake clock's store times as LastModified."""

    def __init__(self, inner: S3ChunkStore, stored_at: dict[int | None, float]) -> None:
        self._inner = inner
        self._stored_at = stored_at

    def list_from(self, session_id: str, first_seq: int) -> Listing:
        listing = self._inner.list_from(session_id, first_seq)
        return Listing(
            chunks={seq: self._stored_at[seq] for seq in listing.chunks},
            final_seq=listing.final_seq,
            final_marked_at=self._stored_at[END] if listing.final_seq is not None else None,
        )

    def read(self, session_id: str, seqs: list[int]) -> dict[int, bytes]:
        return self._inner.read(session_id, seqs)


class Talk:
    """One session's chunks reaching S3 on a schedule, and the consumer's invocations."""

    def __init__(self, ffmpeg: str, deliver: Callable[[Batch], None] | None = None, **settings) -> None:
        self.now = START
        s3, table = create_resources(boto3.Session(region_name="us-east-1"), SESSION, "en")
        self.writer = ChunkWriter(s3, BUCKET)
        self.cursors = DynamoCursorStore(table)
        self.stored_at: dict[int | None, float] = {}
        self.scheduled: list[tuple[float, int, int | None]] = []
        self.events: deque[int | None] = deque()
        self.batches: list[Batch] = []
        self.sleeps: list[float] = []
        self.batcher = Batcher(
            cursors=self.cursors,
            chunks=TimedChunks(S3ChunkStore(s3, BUCKET), self.stored_at),
            decoder=FfmpegDecoder(ffmpeg),
            deliver=deliver or self.batches.append,
            settings=BatchSettings(**settings),
            clock=lambda: self.now,
            sleep=self.sleep,
        )

    @property
    def cursor(self) -> Cursor:
        state = self.cursors.load(SESSION)
        assert state is not None
        return state.cursor

    @property
    def slept(self) -> float:
        return sum(self.sleeps)

    def store(self, seq: int | None) -> None:
        if seq is END:
            self.writer.write({"sessionId": SESSION, "endOfStream": True, "finalSeq": LAST})
        else:
            self.writer.write(
                {"sessionId": SESSION, "seq": seq, "data": base64.b64encode(CHUNKS[seq]).decode()}
            )
        self.stored_at[seq] = self.now
        self.events.append(seq)

    def schedule(self, at: float, seq: int | None) -> None:
        heapq.heappush(self.scheduled, (START + at, len(self.scheduled), seq))

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
        self._arrive()

    def _arrive(self) -> None:
        while self.scheduled and self.scheduled[0][0] <= self.now:
            self.store(heapq.heappop(self.scheduled)[2])

    def event(self, deadline: bool = True) -> int:
        """One invocation; with a deadline as the handler computes it, else none."""
        return self.batcher.advance(SESSION, deadline=self.now + BUDGET if deadline else None)

    def run(self, deadline: Callable[[int | None], bool] = lambda seq: True) -> None:
        """Until nothing is scheduled: each arrival's event, in arrival order."""
        while self.scheduled or self.events:
            if not self.events:
                self.now = max(self.now, self.scheduled[0][0])
                self._arrive()
            self.event(deadline(self.events.popleft()))


@pytest.fixture
def aws():
    with mock_aws():
        yield


def test_chunk_0_arriving_last_loses_nothing(aws, ffmpeg, full_decode):
    talk = Talk(ffmpeg)
    for seq in range(1, LAST + 1):
        talk.schedule(STEP * seq, seq)
    talk.schedule(STEP * (LAST + 1), END)
    talk.run(deadline=lambda seq: False)  # invocations that return at once, as before
    talk.now += 10  # far past the 2 s a missing chunk is waited for
    talk.event(deadline=False)
    assert talk.batches == [] and not talk.cursor.done, "chunk 0 is waited for, not given up"
    talk.schedule(talk.now - START, 0)
    talk.run()
    assert_whole_talk(talk.batches, full_decode)
    assert talk.cursor.done
    assert talk.batcher.counters.gaps == 0


def test_chunk_0_arriving_while_the_end_markers_event_waits_loses_nothing(aws, ffmpeg, full_decode):
    talk = Talk(ffmpeg)
    for seq in range(1, LAST + 1):
        talk.schedule(STEP * seq, seq)
    talk.schedule(STEP * (LAST + 1), END)
    talk.schedule(STEP * (LAST + 1) + 5, 0)  # a cold start delayed chunk 0's write by seconds
    talk.run()
    assert_whole_talk(talk.batches, full_decode)
    assert talk.cursor.done
    assert 5 <= talk.slept < 30  # the marker's event slept until chunk 0 came


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_arrivals_within_the_wait_lose_nothing(aws, ffmpeg, full_decode, seed):
    rng = random.Random(seed)
    talk = Talk(ffmpeg)
    # Every chunk (and the end marker) late by up to 1.5 s: overtaken by up to 5 later
    # ones, but always within the 2 s wait that starts when the first of them arrives.
    for seq in range(LAST + 1):
        talk.schedule(STEP * seq + rng.uniform(0, 1.5), seq)
    talk.schedule(STEP * LAST + rng.uniform(0, 1.5), END)
    assert [s for _, _, s in sorted(talk.scheduled)] != [*range(LAST + 1), END], "shuffled"
    talk.run()
    assert talk.batcher.counters.gaps == 0
    assert_whole_talk(talk.batches, full_decode)
    assert talk.cursor.done


@pytest.mark.parametrize("lost", [LAST - 1, LAST])
def test_a_chunk_lost_just_before_the_end_marker_is_settled_by_the_markers_event(
    aws, ffmpeg, full_decode, lost
):
    talk = Talk(ffmpeg)
    for seq in range(LAST + 1):
        if seq != lost:
            talk.schedule(STEP * seq, seq)
    talk.run(deadline=lambda seq: False)  # these return at once, as before the fix
    assert not talk.cursor.done
    talk.now += STEP  # within 2 s of the last chunk; no event comes after the marker's
    talk.store(END)
    talk.events.clear()
    talk.event()
    assert 0 < talk.slept <= 2.0
    cursor = talk.cursor
    assert cursor.done and cursor.gaps == 1
    batches = talk.batches
    assert [b.index for b in batches] == list(range(len(batches)))
    assert batches[-1].last_seq == (LAST if lost != LAST else LAST - 1)
    full_ms = len(full_decode) // 16
    assert full_ms - 1000 <= sum(b.duration_ms for b in batches) < full_ms


class FlakyInvoker:
    """The processor invoke, failing once (as a throttled Invoke does after boto's retries)."""

    def __init__(self, failing_call: int) -> None:
        self.failing_call = failing_call
        self.attempts: list[Batch] = []
        self.delivered: list[Batch] = []

    def __call__(self, batch: Batch) -> None:
        self.attempts.append(batch)
        if len(self.attempts) == self.failing_call:
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke"
            )
        self.delivered.append(batch)


def test_a_failed_hand_off_is_rolled_back_and_handed_on_by_the_retry(aws, ffmpeg, full_decode):
    invoker = FlakyInvoker(failing_call=2)
    talk = Talk(ffmpeg, deliver=invoker)
    failed: list[Cursor] = []
    for seq in range(LAST + 1):
        talk.store(seq)
        before = talk.cursor
        try:
            talk.event()
        except ClientError:
            failed.append(talk.cursor)
            assert talk.cursor.batch_index == before.batch_index == 1, "the claim of batch 1 is undone"
            assert talk.cursor.emitted_samples == before.emitted_samples
            assert talk.cursor.version > before.version
            assert talk.event() >= 1  # Lambda's retry of the event
    talk.store(END)
    talk.event()
    assert len(failed) == 1
    assert [b.index for b in invoker.attempts[:3]] == [0, 1, 1]
    assert invoker.attempts[1].pcm == invoker.delivered[1].pcm
    assert talk.batcher.counters.deliver_failures == 1
    assert talk.batcher.counters.gaps == 0
    assert_whole_talk(invoker.delivered, full_decode)


def test_a_rollback_never_undoes_a_later_claim(aws):
    _, table = create_resources(boto3.Session(region_name="us-east-1"), SESSION, "en")
    cursors = DynamoCursorStore(table)
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
    assert not cursors.claim(SESSION, 2, second), "a claim planned from the undone cursor loses"


def test_chunk_0_missing_long_after_the_end_marker_ends_the_session_with_an_error(aws, ffmpeg, caplog):
    talk = Talk(ffmpeg)
    for seq in range(1, LAST + 1):
        talk.schedule(STEP * seq, seq)
    talk.schedule(STEP * (LAST + 1), END)
    talk.run(deadline=lambda seq: seq is not END)
    assert not talk.cursor.done and talk.slept == 0
    with caplog.at_level(logging.ERROR, logger="s3_audio_consumer.batcher"):
        assert talk.event() == 0  # the marker's event, again: it waits out init_wait_seconds
    assert talk.slept == pytest.approx(30)
    assert talk.cursor.done
    assert talk.batches == []
    assert any(r.levelno == logging.ERROR and "chunk 0" in r.getMessage() for r in caplog.records)


def test_a_wait_that_outlasts_the_deadline_is_left_for_the_retry(aws, ffmpeg):
    talk = Talk(ffmpeg)
    for seq in range(1, 4):
        talk.store(seq)
    talk.store(END)
    with pytest.raises(DeadlineReached):
        talk.batcher.advance(SESSION, deadline=talk.now + 10)
    assert talk.slept == pytest.approx(10) and not talk.cursor.done
    talk.now += 60  # Lambda retries the event a minute later
    assert talk.event() == 0
    assert talk.cursor.done and talk.batches == []
