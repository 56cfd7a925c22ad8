"""The segmenter on a real capture: exact segments whatever the arrival order, and
several workers on one cursor feed each segment once."""

from __future__ import annotations

import json
import random
import threading

import boto3
import numpy as np
import pytest
from moto import mock_aws

from local.kit.captures import capture
from local.replay import Replay, create_bucket, replay_in_order
from s3_audio_consumer.decoder import DecodeError, FfmpegDecoder
from s3_audio_consumer.planner import PlanSettings
from shared.audio_unit import MAX_UTTERANCE_MS, MAX_UTTERANCE_TEXT, UtteranceUnit

SESSION = "steady-river-1234"
CAPTURE = capture("en-welcome")
CHUNKS = CAPTURE.chunks


@pytest.fixture(scope="module")
def full_decode() -> np.ndarray:
    return np.frombuffer(CAPTURE.pcm, dtype=np.int16)


def joined(batches) -> np.ndarray:
    return np.frombuffer(b"".join(b.pcm for b in sorted(batches, key=lambda b: b.index)), dtype=np.int16)


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    error = reference.astype(float) - other.astype(float)
    return 10 * np.log10((reference.astype(float) ** 2).sum() / max((error**2).sum(), 1e-12))


@pytest.fixture
def aws():
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def new_replay(aws, **settings) -> Replay:
    return Replay(create_bucket(aws), SESSION, PlanSettings(**settings))


def test_joined_batches_equal_one_full_decode(full_decode):
    batches = replay_in_order(CHUNKS)
    pcm = joined(batches)
    assert len(pcm) == len(full_decode)
    assert snr_db(full_decode, pcm) >= 60


def test_batches_are_about_three_seconds_and_contiguous():
    batches = replay_in_order(CHUNKS)
    assert [b.index for b in batches] == list(range(len(batches)))
    for batch in batches[:-1]:
        assert 3000 <= batch.duration_ms < 3600
    assert batches[-1].duration_ms > 0
    starts = [b.start_ms for b in batches]
    assert starts == [sum(b.duration_ms for b in batches[:i]) for i in range(len(batches))]
    for batch in batches:
        assert len(batch.pcm) == batch.duration_ms * 32  # 16 kHz, 2 bytes per sample


def test_other_batch_lengths_are_configurable():
    batches = replay_in_order(CHUNKS, target_ms=2000)
    assert all(2000 <= b.duration_ms < 2600 for b in batches[:-1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_arrivals_and_several_workers_give_the_same_segments(aws, full_decode, seed):
    rng = random.Random(seed)
    replay = new_replay(aws, gap_wait_seconds=3600)
    consumers = [replay.new_segmenter() for _ in range(3)]
    order = list(range(len(CHUNKS)))
    rng.shuffle(order)
    for seq in order:
        replay.store(seq, CHUNKS[seq])
        for _ in range(rng.randint(1, 3)):  # polled by any of them, any number of times
            replay.event(rng.choice(consumers))
    replay.end(len(CHUNKS) - 1)
    for consumer in consumers:
        replay.event(consumer)
    indexes = sorted(b.index for b in replay.batches)
    assert indexes == list(range(len(indexes))), "every index exactly once"
    pcm = joined(replay.batches)
    assert len(pcm) == len(full_decode)
    assert snr_db(full_decode, pcm) >= 60


def test_concurrent_consumers_hand_on_each_batch_once(aws, full_decode):
    replay = new_replay(aws, gap_wait_seconds=3600)
    for seq, chunk in enumerate(CHUNKS):
        replay.store(seq, chunk)
    replay.end(len(CHUNKS) - 1)
    # A stalled worker and its replacement, before the lease fences the first out: their
    # claims are conditional on the cursor's version, so each segment is fed once.
    consumers = [replay.new_segmenter() for _ in range(4)]
    threads = [threading.Thread(target=replay.event, args=(c,)) for c in consumers for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(b.index for b in replay.batches) == list(range(len(replay.batches)))
    assert len(joined(replay.batches)) == len(full_decode)
    assert sum(c.counters.batches for c in consumers) == len(replay.batches)


def test_a_missing_chunk_is_skipped_after_the_wait_and_the_session_goes_on(aws, full_decode):
    replay = new_replay(aws, gap_wait_seconds=0.0)
    lost = 20
    for seq, chunk in enumerate(CHUNKS):
        if seq != lost:
            replay.store(seq, chunk)
            replay.event()
    replay.end(len(CHUNKS) - 1)
    replay.event()
    assert replay.segmenter.counters.gaps == 1
    indexes = [b.index for b in replay.batches]
    assert indexes == list(range(len(indexes)))
    total_ms = sum(b.duration_ms for b in replay.batches)
    full_ms = len(full_decode) // 16
    # At most the lost chunk's Cluster and the one it cut in half are gone.
    assert full_ms - 1000 <= total_ms < full_ms
    assert replay.batches[-1].last_seq == len(CHUNKS) - 1


def test_missing_chunk_is_waited_for_before_skipping(aws):
    replay = new_replay(aws, gap_wait_seconds=3600)
    for seq, chunk in enumerate(CHUNKS):
        if seq != 5:
            replay.store(seq, chunk)
            replay.event()
    assert replay.batches == []  # batch 0 needs chunk 5; it is still being waited for
    replay.store(5, CHUNKS[5])
    replay.event()
    assert len(replay.batches) >= 3


def test_session_end_flushes_the_tail(aws, full_decode):
    replay = new_replay(aws)
    for seq, chunk in enumerate(CHUNKS):
        replay.store(seq, chunk)
        replay.event()
    before = sum(b.duration_ms for b in replay.batches)
    assert before < len(full_decode) // 16  # the tail is held back for a full batch
    replay.end(len(CHUNKS) - 1)
    replay.event()
    assert sum(b.duration_ms for b in replay.batches) == len(full_decode) // 16
    replay.event()  # a duplicate end event changes nothing
    assert len({b.index for b in replay.batches}) == len(replay.batches)


class FailingOnce(FfmpegDecoder):
    calls = 0

    def decode(self, webm: bytes, drop_samples_48k: int = 0) -> bytes:
        FailingOnce.calls += 1
        if FailingOnce.calls == 2:
            raise DecodeError("corrupt batch")
        return super().decode(webm, drop_samples_48k)


def test_a_decode_failure_skips_that_batch_only(aws, ffmpeg):
    replay = new_replay(aws)
    replay.segmenter = replay.new_segmenter(FailingOnce(ffmpeg))
    for seq, chunk in enumerate(CHUNKS):
        replay.store(seq, chunk)
        replay.event()
    replay.end(len(CHUNKS) - 1)
    replay.event()
    assert replay.segmenter.counters.decode_failures == 1
    assert [b.index for b in replay.batches] == [0, 2, 3, 4]


def test_the_longest_utterance_payload_fits_an_async_invoke():
    """The worker hands each utterance to the processor with an Event invoke (256 KB)."""
    unit = UtteranceUnit(
        session_id="steady-river-1234",
        index=10**6,
        start_ms=4 * 3600 * 1000,
        duration_ms=MAX_UTTERANCE_MS,
        source_language="en",
        text="\u00e9" * MAX_UTTERANCE_TEXT,
    )
    payload = json.dumps(unit.payload()).encode()
    assert len(payload) < 256 * 1024
    assert UtteranceUnit.model_validate(json.loads(payload)) == unit
