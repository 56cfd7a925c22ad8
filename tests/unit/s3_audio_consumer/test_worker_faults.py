"""The session worker under faults: every second of a talk reaches exactly one delivered
utterance or is counted in a reported gap, no index reaches a listener twice, indexes
have no holes, and recovery stays within the documented bound (docs/ARCHITECTURE.md §6).

Deterministic: a fake clock (`local/kit/worker_world.py`), moto, real ffmpeg, a real
browser capture, and a Transcribe-like stream with AWS-like timing (stream start,
partial-result lag, finals at pauses, close flush)."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import boto3
import pytest
from moto import mock_aws

from local.kit.captures import capture
from local.kit.fake_transcribe import TranscribeTiming
from local.kit.worker_world import START, Faults, Timing, World, WorldReport
from local.resources import create_sessions_table
from shared.worker_kick import LEASE_MS, WATCH_PERIOD_S

CAPTURE = capture("en-keynote")
CHUNKS = CAPTURE.chunks
TIMINGS_MS = CAPTURE.timings_ms
AWS_TIMING = Timing(
    get_latency_s=0.08, cold_start_s=3.0, transcribe=TranscribeTiming(start_s=1.5, partial_lag_s=1.0)
)
# A crash is noticed when the lease expires (LEASE_MS), and acted on at the next chunk or
# at the watch's next message (WATCH_PERIOD_S); then a cold start and a stream start.
RECOVERY_BOUND_S = (
    LEASE_MS / 1000 + WATCH_PERIOD_S + AWS_TIMING.cold_start_s + 2 * AWS_TIMING.transcribe.start_s
)


@pytest.fixture(scope="module")
def talk_ms() -> int:
    return CAPTURE.talk_ms


def run_world(ffmpeg: str, talk_ms: int, faults: Faults, timing: Timing = AWS_TIMING) -> WorldReport:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        table = create_sessions_table(boto3.resource("dynamodb", region_name="us-east-1"), "Sessions-test")
        world = World(s3, table, CHUNKS, TIMINGS_MS, ffmpeg, talk_ms=talk_ms, faults=faults, timing=timing)
        return world.run()


def assert_exact(report: WorldReport, tolerance_ms: int = 1200) -> None:
    """Nothing lost, nothing doubled; the talk flushed."""
    assert report.done, [(round(t - START, 1), r and r.outcome) for t, r in report.runs]
    assert report.indexes == list(range(len(report.indexes))), "an index is missing"
    assert not report.overlaps(), "a piece of the talk reached the listeners twice"
    assert report.lost_ms() <= tolerance_ms, (report.lost_ms(), report.covered_ms(), report.missed_ms)
    assert report.max_beat_gap_s < LEASE_MS / 1000, "a healthy worker's lease could have expired"


def test_a_talk_without_faults_is_delivered_whole(ffmpeg, talk_ms):
    report = run_world(ffmpeg, talk_ms, Faults())
    assert_exact(report)
    assert report.missed_ms == 0 and report.duplicates == 0
    assert [r.outcome for _, r in report.runs if r] == ["ended"]


@pytest.mark.parametrize("seed", [1, 2])
def test_crashes_at_ten_points_of_a_talk_each_lose_and_double_nothing(ffmpeg, talk_ms, seed):
    """Twenty crash points over two talks: mid-speech, in a handover, after the last
    chunk and after the end (seeded)."""
    rng = random.Random(seed)
    talk_s = TIMINGS_MS[-1] / 1000
    points = sorted(rng.uniform(2, talk_s) for _ in range(7))
    points += [talk_s + 0.4, talk_s + 2.0, talk_s + 6.0]  # after the last chunk, after the end
    report = run_world(ffmpeg, talk_ms, Faults(crash_at=tuple(points), handover_after_s=25.0))
    assert_exact(report)
    assert len(report.recoveries_s) == 10
    assert max(report.recoveries_s) <= RECOVERY_BOUND_S, report.recoveries_s


def test_a_crash_during_a_handover_is_recovered(ffmpeg, talk_ms):
    # Handovers every 20 s: the crash lands while the first hands over (its stream closing).
    report = run_world(ffmpeg, talk_ms, Faults(crash_at=(21.2, 21.8), handover_after_s=20.0))
    assert_exact(report)
    assert any(r is not None and r.outcome == "handed_over" for _, r in report.runs)


@pytest.mark.parametrize("missing", [9, 50, 200])
def test_runs_of_chunks_that_never_arrive_are_skipped_reported_and_the_talk_goes_on(ffmpeg, talk_ms, missing):
    first = 40
    report = run_world(ffmpeg, talk_ms, Faults(never_arrive=frozenset(range(first, first + missing))))
    assert_exact(report)
    assert abs(report.missed_ms - report.expected_missed_ms) <= 300, (
        report.missed_ms,
        report.expected_missed_ms,
    )
    # The speaker is told, with the first utterance after the gap.
    told = [d.missed_before_ms for d in report.delivered.values() if d.missed_before_ms]
    assert told == [report.missed_ms]
    # The talk after the gap is heard: utterances end past it, up to the end.
    assert max(d.utterance.end_ms for d in report.delivered.values()) >= talk_ms - 1500


@pytest.mark.parametrize("outage_s", [5, 30, 62, 119])
def test_speaker_outages_with_the_apps_resend_lose_nothing(ffmpeg, talk_ms, outage_s):
    # The talk is 79 s: a longer outage is placed so that it ends before the talk does.
    begin = 10.0
    report = run_world(ffmpeg, talk_ms, Faults(outage=(begin, begin + outage_s)))
    assert_exact(report)
    assert report.missed_ms == 0  # the app kept every chunk of the outage and resent it


def test_an_outage_longer_than_the_apps_buffer_is_a_reported_gap(ffmpeg, talk_ms):
    report = run_world(ffmpeg, talk_ms, Faults(outage=(10.0, 40.0), app_buffer_chunks=40))
    assert_exact(report)
    assert report.missed_ms >= 15_000  # ~60 chunks dropped by the app, reported


@pytest.mark.parametrize("failures", [1, 3])
def test_a_failing_processor_invoke_is_retried_and_delivered_once(ffmpeg, talk_ms, failures):
    report = run_world(ffmpeg, talk_ms, Faults(invoke_failures=failures))
    assert_exact(report)
    assert sum(r.hand_off_retries for _, r in report.runs if r) == failures


def test_a_processor_that_never_answers_leaves_each_utterance_once_in_the_undelivered_queue(ffmpeg, talk_ms):
    """The talk goes on: what the processor will not take waits for an operator's redrive."""
    report = run_world(ffmpeg, talk_ms, Faults(invoke_failures=-1))
    assert not report.delivered
    assert [r.outcome for _, r in report.runs if r] == ["ended"]
    assert_exact(replace(report, delivered=report.undelivered))
    assert sum(r.undelivered for _, r in report.runs if r) == len(report.undelivered)


def test_a_processor_and_a_queue_that_never_answer_stop_the_worker_without_losing_its_place(ffmpeg, talk_ms):
    report = run_world(ffmpeg, talk_ms, Faults(invoke_failures=-1, queue_fails=True, horizon_s=60))
    assert not report.delivered and not report.undelivered
    outcomes = [r.outcome for _, r in report.runs if r]
    assert outcomes and set(outcomes) == {"hand_off_failed"}
    assert len(outcomes) >= 3  # each replacement tries again from the checkpoint


def test_a_stalled_worker_that_wakes_after_being_replaced_changes_nothing(ffmpeg, talk_ms):
    report = run_world(ffmpeg, talk_ms, Faults(stall=(30.0, 20.0)))
    assert_exact(report)
    outcomes = [r.outcome for _, r in report.runs if r]
    assert "lost_lease" in outcomes and outcomes.count("ended") == 1


def test_two_kicks_at_once_start_one_worker(ffmpeg, talk_ms):
    report = run_world(ffmpeg, talk_ms, Faults(double_kick=True))
    assert_exact(report)
    outcomes = [r.outcome for _, r in report.runs if r]
    assert outcomes.count("not_claimed") >= 1 and outcomes.count("ended") == 1


def test_a_talk_ended_by_the_grace_timer_without_a_final_seq_is_flushed(ffmpeg, talk_ms):
    report = run_world(ffmpeg, talk_ms, Faults(ended_by="grace"))
    assert_exact(report)
    # The worker parked while the speaker was away, and the end woke a successor.
    outcomes = [r.outcome for _, r in report.runs if r]
    assert outcomes[0] == "parked" and outcomes[-1] == "ended"


def test_a_speaker_paused_for_twenty_minutes_holds_no_lambda(ffmpeg, talk_ms):
    report = run_world(ffmpeg, talk_ms, Faults(pause=(30.0, 1200.0)))
    assert_exact(report)
    outcomes = [r.outcome for _, r in report.runs if r]
    assert "parked" in outcomes
    assert report.lambda_s < 300  # not 20 minutes of a polling worker


def test_three_handovers_leave_no_audible_hole(ffmpeg, talk_ms):
    """The successor stands by with its stream open: a handover adds no cold start and no
    stream start to the wait; the gap between two utterances at a handover is no larger
    than elsewhere in the talk."""
    report = run_world(ffmpeg, talk_ms, Faults(handover_after_s=20.0))
    assert_exact(report)
    outcomes = [r.outcome for _, r in report.runs if r]
    assert outcomes.count("handed_over") >= 3 and outcomes[-1] == "ended"
    assert len(report.runs) == len(outcomes)  # no extra start: every successor stood by
    ordered = [report.delivered[i] for i in report.indexes]
    gaps = [(b.at - a.at, a.generation != b.generation) for a, b in itertools.pairwise(ordered)]
    at_handover = [gap for gap, handed in gaps if handed]
    elsewhere = [gap for gap, handed in gaps if not handed]
    assert len(at_handover) >= 3
    assert max(at_handover) <= max(elsewhere), (at_handover, sorted(elsewhere)[-3:])


def test_a_recognizer_too_slow_to_close_in_time_loses_nothing_at_handovers(ffmpeg, talk_ms):
    """Every close takes longer than the worker waits (a recognizer with a backlog, as the
    local endpoint on a busy machine): the words whose results were cut off are fed again
    to the next stream, and nothing reaches the listeners twice."""
    slow_close = replace(AWS_TIMING, transcribe=replace(AWS_TIMING.transcribe, close_flush_s=12.0))
    report = run_world(ffmpeg, talk_ms, Faults(handover_after_s=20.0), timing=slow_close)
    assert_exact(report)
    outcomes = [r.outcome for _, r in report.runs if r]
    assert outcomes.count("handed_over") >= 2 and outcomes[-1] == "ended"
    assert sum(r.close_timeouts for _, r in report.runs if r) >= 2


def test_four_hundred_chunks_that_never_arrive_in_a_four_minute_talk(ffmpeg):
    """Two minutes of a talk lost in one run (more than the speaker app could resend):
    found, skipped, reported, and the talk after it is heard."""
    talk = capture("en-talk-4min")
    chunks, timings, long_ms = talk.chunks, talk.timings_ms, talk.talk_ms
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        table = create_sessions_table(boto3.resource("dynamodb", region_name="us-east-1"), "Sessions-test")
        faults = Faults(never_arrive=frozenset(range(100, 500)))
        world = World(s3, table, chunks, timings, ffmpeg, talk_ms=long_ms, faults=faults, timing=AWS_TIMING)
        report = world.run()
    assert_exact(report)
    missed = (report.missed_ms, report.expected_missed_ms)
    assert abs(missed[0] - missed[1]) <= 1000, missed
    assert max(d.utterance.end_ms for d in report.delivered.values()) >= long_ms - 1500
