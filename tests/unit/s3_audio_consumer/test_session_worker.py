"""The streaming worker on a real capture: one recognition stream at a time, handovers
that give every sample to exactly one stream, a crash that loses and doubles nothing,
and triggers that never start two workers.

A fake clock drives the worker; the capture's chunks "arrive" in S3 at their recorded
pace on that clock. The fake recognizer emits the SDK's real `aws_sdk_transcribe_streaming`
result objects (partials with stable words, then a final per second of audio)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import boto3
import numpy as np
import pytest
from aws_sdk_transcribe_streaming.models import Alternative, Item, Result
from botocore.exceptions import ClientError
from moto import mock_aws

from local.kit.captures import capture
from local.kit.worker_world import WorkerParts, build_worker
from local.resources import create_sessions_table
from s3_audio_consumer.decoder import FfmpegDecoder
from s3_audio_consumer.lease import DynamoLease
from s3_audio_consumer.recognition import StreamFailed
from s3_audio_consumer.utterances import StreamResult, Utterance, from_sdk_result
from s3_audio_consumer.worker import SessionWorker, WorkerRun, WorkerSettings
from shared import resources
from shared.languages import Language
from shared.worker_kick import LEASE_MS, generation_to_start, read_session

SESSION = "steady-river-1234"
BUCKET = "chunks"
CAPTURE = capture("en-keynote")
CHUNKS = CAPTURE.chunks
START = 1_800_000_000.0
STEP = 0.3  # seconds between chunks
BYTES_PER_SECOND = 32_000


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)


class ArrivingS3:
    """moto's S3, where chunk i exists only from START + i * STEP on the fake clock."""

    def __init__(self, s3: Any, clock: Clock, ended_at: float) -> None:
        self._s3, self._clock, self._ended_at = s3, clock, ended_at

    def _due(self, key: str) -> float:
        name = key.rsplit("/", 1)[-1].removesuffix(".webm")
        return self._ended_at if name == "end" else START + int(name) * STEP

    def get_object(self, Bucket: str, Key: str) -> Any:
        if self._clock() < self._due(Key):
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "not yet"}}, "GetObject")
        return self._s3.get_object(Bucket=Bucket, Key=Key)

    def list_objects_v2(self, **kwargs: Any) -> Any:
        page = self._s3.list_objects_v2(**kwargs)
        page["Contents"] = [o for o in page.get("Contents", []) if self._clock() >= self._due(o["Key"])]
        return page


def sdk_result(result_id: str, start: float, end: float, partial: bool, stable: bool) -> StreamResult:
    """One word per second, as Transcribe's real result objects, converted as the adapter does."""
    word = f"w{int(start * 1000)}"
    item = Item(start_time=start, end_time=end, type="pronunciation", content=word, stable=stable)
    alternative = Alternative(transcript=word, items=[item], entities=[])
    result = Result(
        result_id=result_id, start_time=start, end_time=end, is_partial=partial, alternatives=[alternative]
    )
    return from_sdk_result(result)


@dataclass
class FakeStream:
    """Transcribe-like: a partial (stable) and then a final for each second of audio."""

    received: bytearray = field(default_factory=bytearray)
    pending: list[StreamResult] = field(default_factory=list)
    emitted_s: int = 0
    fail_after_bytes: int | None = None
    closed: bool = False

    def send(self, pcm: bytes) -> None:
        if self.fail_after_bytes is not None and len(self.received) + len(pcm) > self.fail_after_bytes:
            raise StreamFailed("the connection dropped")
        self.received += pcm
        while (self.emitted_s + 1) * BYTES_PER_SECOND <= len(self.received):
            start, rid = float(self.emitted_s), f"r{self.emitted_s}"
            self.pending.append(sdk_result(rid, start, start + 0.5, partial=True, stable=False))
            self.pending.append(sdk_result(rid, start, start + 1.0, partial=False, stable=True))
            self.emitted_s += 1

    def results(self) -> list[StreamResult]:
        out, self.pending = self.pending, []
        return out

    def at_pause(self) -> bool:
        # Every 4 s of audio ends in a pause; a handover waits for one.
        return int(len(self.received) / BYTES_PER_SECOND) % 4 == 3

    def close(self, timeout_s: float) -> list[StreamResult]:
        self.closed = True
        tail = len(self.received) / BYTES_PER_SECOND
        if tail > self.emitted_s:
            self.pending.append(sdk_result(f"r{self.emitted_s}", float(self.emitted_s), tail, False, True))
        return self.results()


@dataclass
class FakeRecognizer:
    streams: list[FakeStream] = field(default_factory=list)
    throttle_starts: int = 0
    fail_stream_after_bytes: int | None = None

    def start(self, language: Language, sample_rate: int) -> FakeStream:
        if self.throttle_starts:
            self.throttle_starts -= 1
            raise StreamFailed("LimitExceededException", retryable=True)
        stream = FakeStream(fail_after_bytes=self.fail_stream_after_bytes)
        self.fail_stream_after_bytes = None
        self.streams.append(stream)
        return stream


@dataclass
class Harness:
    table: Any
    s3: Any
    clock: Clock
    recognizer: FakeRecognizer
    ffmpeg: str
    handover_after_s: float
    delivered: list[Utterance] = field(default_factory=list)
    undelivered: list[Utterance] = field(default_factory=list)
    successors: list[int] = field(default_factory=list)

    def worker(self) -> SessionWorker:
        parts = WorkerParts(
            self.table,
            self.s3,
            self.clock,
            FfmpegDecoder(self.ffmpeg),
            self.recognizer,
            lambda session_id, language, utterance, missed=0: self.delivered.append(utterance),
            lambda session_id, generation: self.successors.append(generation),
            lambda session_id, language, utterance, missed, error: self.undelivered.append(utterance),
            bucket=BUCKET,
        )
        settings = WorkerSettings(handover_after_s=self.handover_after_s, handover_pause_wait_s=5)
        return build_worker(parts, settings)

    def run(self, generation: int) -> WorkerRun:
        return self.worker().run(SESSION, generation, deadline=self.clock() + 850)

    def run_chain(self, first: int = 0) -> list[WorkerRun]:
        """Runs the first worker and every successor it hands over to, as Lambda would."""
        runs = [self.run(first)]
        while runs[-1].outcome == "handed_over":
            runs.append(self.run(self.successors[-1]))
        return runs


@pytest.fixture
def harness(ffmpeg):
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        table = create_sessions_table(dynamodb, "Sessions-test")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        for seq, chunk in enumerate(CHUNKS):
            s3.put_object(Bucket=BUCKET, Key=resources.chunk_key(SESSION, seq), Body=chunk)
        s3.put_object(
            Bucket=BUCKET, Key=resources.end_marker_key(SESSION), Body=b'{"finalSeq": %d}' % (len(CHUNKS) - 1)
        )
        ended_at = START + len(CHUNKS) * STEP + 1
        # The session ends (status and marker) once the last chunk is in.
        table.put_item(
            Item={
                "sessionId": SESSION,
                "sourceLanguage": "en",
                "status": "active",
                "lastSeq": len(CHUNKS) - 1,
            }
        )
        clock = Clock()
        harness = Harness(table, ArrivingS3(s3, clock, ended_at), clock, FakeRecognizer(), ffmpeg, 20.0)
        original_beat = DynamoLease.heartbeat

        def heartbeat(lease, session_id, owner, now_ms):  # type: ignore[no-untyped-def]
            if clock() >= ended_at:
                table.update_item(
                    Key={"sessionId": SESSION},
                    UpdateExpression="SET #s = :e",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":e": "ended"},
                )
            return original_beat(lease, session_id, owner, now_ms)

        DynamoLease.heartbeat = heartbeat  # type: ignore[method-assign]
        try:
            yield harness
        finally:
            DynamoLease.heartbeat = original_beat  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def full_decode() -> bytes:
    return CAPTURE.pcm


def assert_talk_covered_once(delivered: list[Utterance], talk_ms: int) -> None:
    indexes = [u.index for u in delivered]
    assert indexes == list(range(len(delivered)))  # increasing, none lost, none twice
    spans = sorted((u.start_ms, u.end_ms) for u in delivered)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 1, spans  # no piece of the talk delivered twice
    covered = sum(end - start for start, end in spans)
    assert covered >= talk_ms - 1500, (covered, talk_ms)  # nothing of the talk left out


def test_a_talk_crosses_three_handovers_and_every_sample_reaches_exactly_one_stream(harness, full_decode):
    runs = harness.run_chain()
    assert [r.outcome for r in runs][-1] == "ended"
    assert sum(r.outcome == "handed_over" for r in runs) >= 3
    assert [r.generation for r in runs] == list(range(len(runs)))
    streams = harness.recognizer.streams
    assert all(s.closed for s in streams)
    joined = b"".join(bytes(s.received) for s in streams)
    assert len(joined) == len(full_decode)  # the same sample count as one decode of the talk
    reference = np.frombuffer(full_decode, dtype=np.int16).astype(float)
    error = reference - np.frombuffer(joined, dtype=np.int16).astype(float)
    # Each 600 ms segment is decoded with one Cluster of pre-roll: the Opus decoder is
    # warm but not bit-identical at each cut (~49 dB here, inaudible; 3 s cuts give 75 dB).
    assert 10 * np.log10((reference**2).sum() / max((error**2).sum(), 1e-9)) > 40
    assert_talk_covered_once(harness.delivered, len(full_decode) // 32)


def test_a_worker_that_crashes_mid_stream_is_replaced_and_nothing_is_sent_twice(harness, full_decode):
    harness.handover_after_s = 10_000  # no handover: one worker, until it dies
    harness.recognizer.fail_stream_after_bytes = 25 * BYTES_PER_SECOND
    assert harness.run(0).outcome == "stream_failed"
    delivered_before = len(harness.delivered)
    assert delivered_before > 0
    assert harness.recognizer.streams[0].closed  # nothing left billed until Transcribe's timeout
    # The failed worker gave its lease up: the next kick starts gen 1 at once.
    generation = generation_to_start(read_session(harness.table, SESSION), int(harness.clock() * 1000))
    assert generation == 1
    runs = harness.run_chain(generation)
    assert runs[-1].outcome == "ended"
    assert_talk_covered_once(harness.delivered, len(full_decode) // 32)


def test_duplicate_and_concurrent_triggers_never_start_two_workers(harness):
    harness.handover_after_s = 10_000
    lease = DynamoLease(harness.table, LEASE_MS)
    first = lease.claim(SESSION, 0, "a", int(harness.clock() * 1000))
    assert first is not None
    assert lease.claim(SESSION, 0, "b", int(harness.clock() * 1000)) is None  # the same trigger twice
    assert lease.claim(SESSION, 1, "c", int(harness.clock() * 1000)) is None  # a kick while alive
    assert harness.run(0).outcome == "not_claimed"
    harness.clock.now += 11  # past the start grace: a worker that never beat is replaced
    assert lease.claim(SESSION, 1, "d", int(harness.clock() * 1000)) is not None
    assert lease.heartbeat(SESSION, "a", int(harness.clock() * 1000)) is None  # the old one is out


def test_a_throttled_stream_start_is_retried_and_no_audio_is_lost(harness, full_decode):
    harness.handover_after_s = 10_000
    harness.recognizer.throttle_starts = 2
    runs = harness.run_chain()
    assert runs[-1].outcome == "ended" and runs[-1].streams == 1
    assert len(bytes(harness.recognizer.streams[0].received)) == len(full_decode)
