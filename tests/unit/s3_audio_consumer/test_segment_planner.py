"""The segment planner alone: pure, so any arrival order of a real capture's chunks can
be planned through without S3, a clock or ffmpeg, and every Cluster of the talk must
land in exactly one segment, on the talk's timeline."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from local.kit.captures import capture
from s3_audio_consumer import planner, webm
from s3_audio_consumer.planner import (
    Batch,
    Cursor,
    Listing,
    Plan,
    PlanSettings,
    Read,
    SessionState,
    WaitUntil,
)

SESSION = "steady-river-1234"
CHUNKS = capture("en-welcome").chunks
LAST = len(CHUNKS) - 1
INIT = webm.parse_init(CHUNKS[0]).data
TALK_SAMPLES = sum(c.samples for c in webm.scan_clusters(b"".join(CHUNKS), len(INIT)))
SETTINGS = PlanSettings(target_ms=600, max_chunks_per_read=16, gap_wait_seconds=2.0)


def plan_all(
    state: SessionState, listing: Listing, now: float
) -> tuple[SessionState, list[Batch], WaitUntil | None]:
    """Claims every plan that is ready, as the segmenter would (all claims won)."""
    batches: list[Batch] = []
    for _ in range(1000):
        if state.cursor.done:
            return state, batches, None
        found = planner.survey(state.cursor, listing, now, SETTINGS)
        step = planner.before_read(state, found, SETTINGS)
        if isinstance(step, Read):
            step = planner.cut(SESSION, state, found, {s: CHUNKS[s] for s in step.seqs}, SETTINGS)
        if not isinstance(step, Plan):
            return state, batches, step
        assert step.cursor.version == state.cursor.version + 1, "each claim is one version on"
        state = SessionState(state.source_language, step.cursor)
        if step.batch is not None:
            batches.append(step.batch)
    raise AssertionError("the planner never settled")


def talk(arrival: list[int], lost: frozenset[int] = frozenset()) -> tuple[Cursor, list[Batch]]:
    """Chunks arrive one every 0.3 s in `arrival` order, then the talk ends."""
    state = SessionState("en", Cursor())
    seen: dict[int, float] = {}
    batches: list[Batch] = []
    now = 0.0
    for seq in arrival:
        now += 0.3
        if seq not in lost:
            seen[seq] = now
        state, more, _ = plan_all(state, Listing(dict(seen)), now)
        batches += more
    ended = now
    while not state.cursor.done and now < ended + 60:
        now += 0.1
        state, more, _ = plan_all(state, Listing(dict(seen), final_seq=LAST, final_marked_at=ended), now)
        batches += more
    return state.cursor, batches


def windows_shuffled(draw_order: list[int], window: int) -> list[int]:
    order: list[int] = []
    for start in range(0, len(CHUNKS), window):
        block = list(range(start, min(start + window, len(CHUNKS))))
        keys = draw_order[start : start + len(block)]
        order += [s for _, s in sorted(zip(keys, block, strict=True))]
    return order


def test_chunks_in_order_make_the_whole_talk_once():
    cursor, batches = talk(list(range(len(CHUNKS))))
    assert cursor.done and cursor.gaps == 0
    assert [b.index for b in batches] == list(range(len(batches)))
    assert cursor.emitted_samples == TALK_SAMPLES
    assert (
        sum(b.duration_ms for b in batches) * 48
        <= TALK_SAMPLES
        < (sum(b.duration_ms for b in batches) + len(batches)) * 48
    )
    assert all(b.missed_ms == 0 for b in batches)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=len(CHUNKS), max_size=len(CHUNKS)), st.integers(2, 6))
def test_any_order_within_the_wait_makes_the_same_segments(keys, window):
    """Chunks overtaken within windows of up to 6 (< the 2 s wait) are never skipped."""
    in_order = talk(list(range(len(CHUNKS))))
    shuffled = talk(windows_shuffled(keys, window))
    assert shuffled == in_order


@settings(max_examples=25, deadline=None)
@given(st.integers(1, LAST), st.integers(1, 12))
def test_a_run_of_lost_chunks_is_skipped_once_and_the_timeline_jumps_over_it(first, length):
    lost = frozenset(range(first, min(first + length, LAST + 1)))
    cursor, batches = talk(list(range(len(CHUNKS))), lost)
    assert cursor.done and cursor.gaps == 1
    assert [b.index for b in batches] == list(range(len(batches)))
    starts = [b.start_ms for b in batches]
    assert starts == sorted(starts), "the timeline only moves forward"
    for before, after in itertools.pairwise(batches):
        assert after.start_ms >= before.start_ms + before.duration_ms - 1
    assert not any(b.first_seq in lost or b.last_seq in lost for b in batches)
    missed = sum(b.missed_ms for b in batches)
    if max(lost) < LAST:  # audio after the gap came: the jump says how much was lost
        assert len(lost) * 300 - 700 <= missed <= len(lost) * 300 + 700


def test_chunk_0_is_never_skipped_while_the_talk_goes_on():
    state = SessionState("en", Cursor())
    seen = {seq: 0.3 * seq for seq in range(1, len(CHUNKS))}
    state, batches, wait = plan_all(state, Listing(seen), now=3600.0)
    assert batches == [] and wait is None and not state.cursor.done
    state, batches, _ = plan_all(state, Listing({**seen, 0: 3600.0}), now=3600.0)
    assert batches and batches[0].index == 0 and batches[0].start_ms == 0
