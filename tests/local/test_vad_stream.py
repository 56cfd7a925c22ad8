"""Streaming Silero VAD on real Chromium captures, and its cutting rules on scripted frames."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

import numpy as np
import pytest

from local.engines.vad_stream import FRAME, SAMPLE_RATE, Segment, StreamingVad, VadSettings
from local.kit.captures import capture as committed_capture

SETTINGS = VadSettings()
PIECE_100MS = SAMPLE_RATE // 10 * 2  # bytes


@dataclass(frozen=True)
class Capture:
    name: str
    pcm: bytes
    sentences: int

    @property
    def audio(self) -> np.ndarray:
        return np.frombuffer(self.pcm, dtype=np.int16).astype(np.float32) / 32768.0


def decode(name: str) -> Capture:
    talk = committed_capture(name)
    sentences = len(re.findall(r"[.!?](?:\s|$)", talk.script()))
    return Capture(name, talk.pcm, sentences)


@pytest.fixture(scope="module")
def captures() -> dict[str, Capture]:
    return {name: decode(name) for name in ("en-welcome", "en-keynote")}


@pytest.fixture(scope="module", params=["en-welcome", "en-keynote"])
def capture(request: pytest.FixtureRequest, captures: dict[str, Capture]) -> Capture:
    return captures[request.param]


def pieces_100ms(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + PIECE_100MS] for i in range(0, len(pcm), PIECE_100MS)]


def random_pieces(pcm: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(pcm):
        size = rng.randint(SAMPLE_RATE // 100, SAMPLE_RATE // 2) * 2  # 10 to 500 ms
        out.append(pcm[at : at + size])
        at += size
    return out


def run(pieces: list[bytes], settings: VadSettings = SETTINGS, model: object = None) -> list[Segment]:
    vad = StreamingVad(settings, model)  # type: ignore[arg-type]
    segments: list[Segment] = []
    for piece in pieces:
        segments += vad.feed(piece)
    return segments + vad.flush()


_runs: dict[tuple[str, VadSettings], list[Segment]] = {}


def segments_of(capture: Capture, settings: VadSettings = SETTINGS) -> list[Segment]:
    key = (capture.name, settings)
    if key not in _runs:
        _runs[key] = run(pieces_100ms(capture.pcm), settings)
    return _runs[key]


def speech_probs(audio: np.ndarray) -> np.ndarray:
    """faster-whisper's own whole-array scoring (it zeroes its input's last 64 samples: a copy)."""
    from faster_whisper.vad import get_vad_model

    padded = np.pad(audio, (0, FRAME - audio.size % FRAME))
    return np.asarray(get_vad_model()(padded)).reshape(-1)


def merged(segments: list[Segment]) -> list[tuple[int, int]]:
    """Joins each forced cut back, as if there were no length limit."""
    out: list[tuple[int, int]] = []
    joined = False
    for segment in segments:
        if joined:
            out[-1] = (out[-1][0], segment.end_sample)
        else:
            out.append((segment.start_sample, segment.end_sample))
        joined = segment.forced
    return out


def rms_db(samples: np.ndarray) -> float:
    return 10 * float(np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-12))


def assert_well_formed(segments: list[Segment], total: int, settings: VadSettings) -> None:
    assert segments
    for segment in segments:
        assert 0 <= segment.start_sample < segment.end_sample <= total
        assert segment.duration_ms <= settings.max_utterance_ms
    for before, after in itertools.pairwise(segments):
        assert before.end_sample <= after.start_sample  # in order, never overlapping


# Real captures


def test_piece_sizes_do_not_change_the_segments(capture: Capture):
    by_100ms = segments_of(capture)
    assert run(random_pieces(capture.pcm, seed=7)) == by_100ms
    assert run([capture.pcm]) == by_100ms


def test_segments_are_ordered_disjoint_short_and_cover_every_speech_frame(capture: Capture):
    segments = segments_of(capture)
    total = len(capture.pcm) // 2
    assert_well_formed(segments, total, SETTINGS)
    probs = speech_probs(capture.audio)
    starts = [s.start_sample for s in segments]
    for frame in np.flatnonzero(probs >= SETTINGS.threshold):
        lo, hi = int(frame) * FRAME, min(int(frame) * FRAME + FRAME, total)
        inside = [s for s in segments if s.start_sample <= lo and hi <= s.end_sample]
        assert inside, f"speech frame at {lo / SAMPLE_RATE:.2f} s is in no segment (starts {starts})"


def test_every_cut_that_is_not_forced_falls_in_a_pause(capture: Capture):
    segments = segments_of(capture)
    audio = np.frombuffer(capture.pcm, dtype=np.int16)
    half = SAMPLE_RATE // 20  # 100 ms around the cut
    for before, after in itertools.pairwise(segments):
        if before.forced:
            continue
        cut = (before.end_sample + after.start_sample) // 2
        quiet = rms_db(audio[cut - half : cut + half])
        speech = min(rms_db(audio[s.start_sample : s.end_sample]) for s in (before, after))
        assert quiet <= speech - 15, f"cut at {cut / SAMPLE_RATE:.2f} s is {speech - quiet:.1f} dB down only"


def test_matches_get_speech_timestamps_on_the_whole_file(capture: Capture):
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    for settings in (SETTINGS, VadSettings(max_utterance_ms=3000)):
        reference = get_speech_timestamps(
            capture.audio,
            VadOptions(
                threshold=settings.threshold,
                min_silence_duration_ms=settings.min_silence_ms,
                speech_pad_ms=settings.speech_pad_ms,
                min_speech_duration_ms=settings.min_speech_ms,
            ),
        )
        ours = merged(segments_of(capture, settings))
        assert len(ours) == len(reference)
        for (start, end), expected in zip(ours, reference, strict=True):
            assert abs(start - expected["start"]) <= FRAME
            assert abs(end - expected["end"]) <= FRAME


def test_a_short_limit_forces_cuts_that_keep_every_sample(capture: Capture):
    settings = VadSettings(max_utterance_ms=3000)
    segments = segments_of(capture, settings)
    assert_well_formed(segments, len(capture.pcm) // 2, settings)
    forced = [s for s in segments if s.forced]
    assert forced
    for before, after in itertools.pairwise(segments):
        if before.forced:  # cut in a pause shorter than min_silence_ms: the two share it
            assert after.start_sample == before.end_sample
    assert run(random_pieces(capture.pcm, seed=11), settings) == segments


def test_one_segment_per_sentence(captures: dict[str, Capture]):
    welcome = captures["en-welcome"]
    assert welcome.sentences == 4
    assert abs(len(segments_of(welcome)) - welcome.sentences) <= 1
    keynote = captures["en-keynote"]
    assert keynote.sentences == 16
    assert abs(len(segments_of(keynote)) - keynote.sentences) <= 1


def test_flush_returns_the_open_utterance(captures: dict[str, Capture]):
    welcome = captures["en-welcome"]
    segments = segments_of(welcome)
    last = segments[-1]
    cut = last.end_sample - SAMPLE_RATE // 2  # the stream stops mid-sentence
    vad = StreamingVad(SETTINGS)
    returned: list[Segment] = []
    for piece in pieces_100ms(welcome.pcm[: 2 * cut]):
        returned += vad.feed(piece)
    assert returned == segments[:-1]
    assert vad.keep_from <= last.start_sample
    assert vad.flush() == [Segment(last.start_sample, cut, forced=False)]
    assert vad.flush() == []
    with pytest.raises(RuntimeError):
        vad.feed(b"\0\0")


def test_keep_from_bounds_the_pcm_the_caller_keeps(capture: Capture):
    vad = StreamingVad(SETTINGS)
    pad = SETTINGS.speech_pad_ms
    bound = (SETTINGS.max_utterance_ms + max(SETTINGS.min_silence_ms, 2 * pad)) * 16 + 2 * FRAME
    keep_from, kept = 0, 0
    for piece in pieces_100ms(capture.pcm):
        for segment in vad.feed(piece):
            assert segment.start_sample >= keep_from
        assert vad.keep_from >= keep_from
        keep_from = vad.keep_from
        kept = max(kept, vad.samples_fed - keep_from)
    assert all(s.start_sample >= keep_from for s in vad.flush())
    assert kept <= bound


def test_whole_stream_leaves_nothing_to_flush_after_a_closing_silence(captures: dict[str, Capture]):
    welcome = captures["en-welcome"]
    vad = StreamingVad(SETTINGS)
    returned = [s for piece in pieces_100ms(welcome.pcm) for s in vad.feed(piece)]
    assert returned == segments_of(welcome)
    assert vad.flush() == []


# Scripted frames: a stand-in model whose probability is written in the samples


class _ScriptedSession:
    def run(self, output_names: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        frames = feed["input"][:, 64:]
        return [np.clip(frames.mean(axis=1) * 2, 0.0, 1.0), feed["h"], feed["c"]]


class ScriptedSilero:
    session = _ScriptedSession()


def scripted(*runs: tuple[float, int]) -> bytes:
    """PCM whose frames the stand-in scores as given: (probability, frames) runs."""
    values = [np.full(count * FRAME, round(prob * 16384), dtype=np.int16) for prob, count in runs]
    return np.concatenate(values).tobytes()


def frames_of(ms: int) -> int:
    return ms * SAMPLE_RATE // 1000 // FRAME


def test_scripted_pauses_end_utterances_with_padding():
    pcm = scripted((0.0, 20), (0.9, 30), (0.1, 20), (0.9, 10), (0.0, 30))
    pad = SETTINGS.speech_pad_ms * 16
    assert run([pcm], model=ScriptedSilero()) == [
        Segment(20 * FRAME - pad, 50 * FRAME + pad),
        Segment(70 * FRAME - pad, 80 * FRAME + pad),
    ]


def test_a_short_pause_does_not_cut_and_close_utterances_share_the_gap():
    # 192 ms is no pause to end on; with min_silence below two pads, neighbours split the gap.
    settings = VadSettings(min_silence_ms=200, speech_pad_ms=150)
    pcm = scripted((0.9, 30), (0.1, 6), (0.9, 30), (0.1, 8), (0.9, 10), (0.0, 40))
    segments = run(pieces_100ms(pcm), settings, ScriptedSilero())
    assert [(s.start_sample, s.end_sample) for s in segments] == [
        (0, 66 * FRAME + 4 * FRAME),
        (70 * FRAME, 84 * FRAME + 150 * 16),
    ]


def test_a_forced_cut_takes_the_longest_pause():
    # Speech with pauses of 128, 224 and 160 ms: the limit cuts at the 224 ms one.
    pcm = scripted((0.9, 40), (0.1, 4), (0.9, 40), (0.1, 7), (0.9, 60), (0.1, 5), (0.9, 80), (0.0, 30))
    segments = run(pieces_100ms(pcm), VadSettings(), ScriptedSilero())
    first, second = segments[0], segments[1]
    assert first.forced and not second.forced
    pause_start, pause_end = (40 + 4 + 40) * FRAME, (40 + 4 + 40 + 7) * FRAME
    assert first.end_sample == second.start_sample == (pause_start + pause_end) // 2
    assert all(s.duration_ms <= SETTINGS.max_utterance_ms for s in segments)


def test_failing_a_pause_a_forced_cut_takes_the_longest_dip():
    # Dips of one and two frames only: the cut goes in the two-frame one, not mid-speech.
    pcm = scripted((0.9, 50), (0.1, 2), (0.9, 60), (0.1, 1), (0.9, 120), (0.0, 30))
    segments = run(pieces_100ms(pcm), model=ScriptedSilero())
    assert [s.forced for s in segments] == [True, False]
    assert segments[0].end_sample == segments[1].start_sample == 51 * FRAME


def test_a_forced_cut_without_a_pause_is_contiguous():
    settings = VadSettings(max_utterance_ms=2000, speech_pad_ms=100)
    pcm = scripted((0.0, 10), (0.9, 200), (0.0, 20))
    segments = run(random_pieces(pcm, seed=3), settings, ScriptedSilero())
    assert all(s.forced for s in segments[:-1]) and not segments[-1].forced
    assert [s.end_sample for s in segments[:-1]] == [s.start_sample for s in segments[1:]]
    assert segments[0].start_sample == 10 * FRAME - 1600
    assert segments[-1].end_sample == 210 * FRAME + 1600
    assert max(s.duration_ms for s in segments) <= 2000


def test_a_pause_ends_on_time_however_close_to_the_limit():
    # The pause starts just under the limit: no forced cut, it ends as a pause.
    limit_frames = SETTINGS.max_speech_samples // FRAME
    pcm = scripted((0.9, limit_frames - 1), (0.0, 20), (0.9, 10), (0.0, 20))
    segments = run(pieces_100ms(pcm), model=ScriptedSilero())
    assert len(segments) == 2 and not any(s.forced for s in segments)
    assert segments[0].duration_ms <= SETTINGS.max_utterance_ms


def test_short_clicks_can_be_dropped():
    pcm = scripted((0.0, 20), (0.9, 2), (0.0, 30), (0.9, 20), (0.0, 30))
    assert len(run([pcm], VadSettings(), ScriptedSilero())) == 2
    kept = run([pcm], VadSettings(min_speech_ms=100), ScriptedSilero())
    assert [(s.start_sample, s.end_sample) for s in kept] == [(52 * FRAME - 2400, 72 * FRAME + 2400)]


def test_odd_byte_pieces_are_joined():
    pcm = scripted((0.0, 10), (0.9, 30), (0.0, 20))
    whole = run([pcm], model=ScriptedSilero())
    odd = run([pcm[i : i + 333] for i in range(0, len(pcm), 333)], model=ScriptedSilero())
    assert odd == whole and len(whole) == 1


def test_segment_times_and_slices():
    segment = Segment(1600, 4800)
    assert (segment.start_ms, segment.end_ms, segment.duration_ms) == (100.0, 300.0, 200.0)
    pcm = bytes(range(256)) * 100
    assert segment.slice(pcm) == pcm[3200:9600]
    assert segment.slice(pcm[2000:], first_sample=1000) == pcm[3200:9600]
    with pytest.raises(ValueError):
        segment.slice(pcm, first_sample=2000)


@pytest.mark.parametrize(
    "bad",
    [
        {"threshold": 0.0},
        {"neg_threshold": 0.7},
        {"speech_pad_ms": -1},
        {"max_utterance_ms": 300},
        {"min_speech_ms": 7000},
    ],
)
def test_settings_are_checked(bad: dict[str, float]):
    with pytest.raises(ValueError):
        VadSettings(**bad)  # type: ignore[arg-type]


def test_speech_from_is_where_the_next_segment_starts(captures: dict[str, Capture]) -> None:
    """What the local Transcribe endpoint transcribes for a partial: the start of the
    segment that will hold the speech being heard, None before any speech."""
    vad = StreamingVad(SETTINGS)
    starts_seen: list[int | None] = []
    segments: list[Segment] = []
    for piece in pieces_100ms(captures["en-welcome"].pcm):
        before = vad.speech_from
        starts_seen.append(before)
        for segment in vad.feed(piece):
            assert segment.start_sample == before
            segments.append(segment)
    assert starts_seen[0] is None
    assert len(segments) >= 3
