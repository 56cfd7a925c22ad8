"""The audio's half of the worker's pause guess (s3_audio_consumer/loudness.py), held to
Silero VAD (faster-whisper's, the offline recognizer's) on the committed browser captures:
it hears every pause the VAD hears, and it almost never calls the middle of speech quiet."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from faster_whisper.vad import VadOptions, get_speech_timestamps

from local.kit.captures import capture
from s3_audio_consumer.loudness import FRAME_MS, QUIET_MS, TailLoudness

FRAME = 16000 * 2 * FRAME_MS // 1000
Talk = tuple[bytes, list[dict[str, int]]]  # PCM, the VAD's speech segments (samples)


@pytest.fixture(scope="module", params=["en-keynote", "en-talk-4min", "en-welcome"])
def talk(request: pytest.FixtureRequest) -> Talk:
    pcm = capture(request.param).pcm
    audio = np.frombuffer(pcm, np.int16).astype(np.float32) / 32768
    speech = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=QUIET_MS, speech_pad_ms=0))
    return pcm, speech


def tail_quiet(pcm: bytes) -> list[bool]:
    """After each 100 ms frame: does the audio so far end quiet?"""
    loudness = TailLoudness()
    quiet = []
    for at in range(0, len(pcm) - FRAME + 1, FRAME):
        loudness.feed(pcm[at : at + FRAME])
        quiet.append(loudness.ends_quiet())
    return quiet


def test_every_pause_the_vad_hears_is_heard_quiet(talk: Talk) -> None:
    pcm, speech = talk
    quiet = tail_quiet(pcm)
    frame = FRAME // 2  # samples
    pauses = [(a["end"] // frame + 1, b["start"] // frame) for a, b in itertools.pairwise(speech)]
    assert pauses
    assert all(any(quiet[start:end]) for start, end in pauses), [
        p for p in pauses if not any(quiet[p[0] : p[1]])
    ]


def test_the_middle_of_speech_is_almost_never_called_quiet(
    talk: Talk,
) -> None:
    pcm, speech = talk
    quiet = tail_quiet(pcm)
    frame = FRAME // 2
    in_speech = np.zeros(len(quiet), bool)
    for segment in speech:
        in_speech[segment["start"] // frame : segment["end"] // frame] = True
    # Frames whose whole quiet window lies in the VAD's speech. The VAD's segments hold gaps
    # under 300 ms and end a little after the voice, so a few of these are truly quiet
    # (-70 to -88 dBFS on these captures): about 1 % on the long ones, 2 of 96 frames on the short.
    windows = QUIET_MS // FRAME_MS
    inside = [n for n in range(windows, len(quiet)) if in_speech[n - windows + 1 : n + 1].all()]
    wrong = sum(quiet[n] for n in inside)
    assert len(inside) > 50
    assert wrong / len(inside) <= 0.03, (wrong, len(inside))


def test_a_muted_microphone_is_quiet_and_a_talk_that_goes_on_is_not(
    talk: Talk,
) -> None:
    pcm, speech = talk
    loudness = TailLoudness()
    loudness.feed(b"\0\0" * 16000)  # a second of digital silence before anyone speaks
    assert loudness.ends_quiet()
    first = speech[0]["start"] * 2
    loudness.feed(pcm[first : first + 16000])  # the first half second of speech
    assert not loudness.ends_quiet()
