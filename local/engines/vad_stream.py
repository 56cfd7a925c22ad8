"""Cuts a live 16 kHz PCM stream into utterances at its pauses, with Silero VAD.

The Silero model (ONNX) ships inside faster-whisper, so nothing is downloaded. It scores
32 ms frames (512 samples) and carries an LSTM state from frame to frame; each call of
the ONNX session takes a batch of frames *in order* (the batch axis is the time axis),
each frame prefixed with the last 64 samples of the frame before it, plus the state `h`,
`c`, and returns one probability per frame and the state after the last one. Calling it
on a stream piece by piece with the state and the 64-sample context handed on gives
exactly the probabilities of faster-whisper's one call on the whole array (checked on
real captures), so no rolling re-scoring is needed: every frame is scored once.

The cutting rules follow `faster_whisper.vad.get_speech_timestamps`: an utterance starts
at the first frame at or above `threshold`, its pause starts at the first frame below the
silence threshold after it, the pause ends at the next frame at or above `threshold`, and
the utterance ends once a pause has lasted `min_silence_ms`. Padding is the same too:
`speech_pad_ms` on each side, or half the gap each when two utterances are closer than two
pads, so padded segments never overlap. What differs is the length limit: an utterance
about to pass `max_utterance_ms` (padding included) is cut at its longest pause (the
lowest mean probability breaks ties, then the latest wins): one of 100 ms or more whenever
it has one, else its longest dip below the silence threshold, and only an utterance with
no dip at all is cut where it stands. The rest goes on as the next utterance: the two
split the pause between them when it is under two pads (always, with the defaults), so no
sample is lost and none is in both. An utterance is only cut when speech goes on: while a
pause lasts, its end is where the pause began, which the limit already allows.

Memory is bounded whatever the stream's length: under one frame of samples (and an odd
byte), the 64-sample context, the 2x128 LSTM state, and the pauses of the open utterance
(each one a frame at least, after a frame of speech: under max_utterance_ms / 64 ms). A `feed`
of any size is scored in batches of `_BATCH` frames. The PCM itself is not kept: the
caller keeps it and slices it by the segments' sample positions; `keep_from` says how
much of it is still needed (about one utterance plus the pad and the closing silence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from shared.audio_unit import PCM_SAMPLE_RATE

SAMPLE_RATE = PCM_SAMPLE_RATE
FRAME = 512  # samples the model scores at once: 32 ms
_CONTEXT = 64  # samples of the previous frame the model sees before each frame
_SAMPLES_PER_MS = SAMPLE_RATE // 1000
_BATCH = 256  # frames per ONNX call (8 s), so a huge feed stays small in memory
_STATE_SHAPE = (1, 1, 128)


class _OnnxSession(Protocol):
    def run(self, output_names: Any, input_feed: dict[str, np.ndarray]) -> Any: ...


class SileroModel(Protocol):
    """What `faster_whisper.vad.get_vad_model()` returns: a holder of the ONNX session."""

    session: _OnnxSession


@dataclass(frozen=True)
class VadSettings:
    """Where to cut. The defaults gave one segment per sentence on real captures."""

    min_silence_ms: int = 300  # a pause this long ends the utterance
    speech_pad_ms: int = 150  # kept on each side of the speech
    max_utterance_ms: int = 7000  # no segment, padding included, is longer
    threshold: float = 0.5  # a frame at or above it is speech
    neg_threshold: float | None = None  # below it is silence; None: threshold - 0.15
    min_speech_ms: int = 0  # shorter utterances (a click) are dropped; 0 keeps all

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if self.neg_threshold is not None and not 0.0 <= self.neg_threshold <= self.threshold:
            raise ValueError("neg_threshold must be in [0, threshold]")
        if self.min_silence_ms < 0 or self.speech_pad_ms < 0:
            raise ValueError("durations must not be negative")
        if self.max_speech_samples < 4 * FRAME:
            raise ValueError("max_utterance_ms leaves less than four frames of speech between the pads")
        if self.min_speech_ms < 0 or self.min_speech_ms * _SAMPLES_PER_MS >= self.max_speech_samples - FRAME:
            raise ValueError("min_speech_ms must be shorter than max_utterance_ms without the pads")

    @property
    def silence_threshold(self) -> float:
        if self.neg_threshold is not None:
            return self.neg_threshold
        return max(self.threshold - 0.15, 0.01)

    @property
    def max_speech_samples(self) -> int:
        """The longest an utterance's speech (unpadded) may be, so that with both pads it fits."""
        return (self.max_utterance_ms - 2 * self.speech_pad_ms) * _SAMPLES_PER_MS


@dataclass(frozen=True)
class Segment:
    """One utterance: samples [start_sample, end_sample) of the stream (16 kHz, from 0)."""

    start_sample: int
    end_sample: int
    forced: bool = False  # ended by the length limit, not by a pause of min_silence_ms

    @property
    def start_ms(self) -> float:
        return self.start_sample / _SAMPLES_PER_MS

    @property
    def end_ms(self) -> float:
        return self.end_sample / _SAMPLES_PER_MS

    @property
    def duration_ms(self) -> float:
        return (self.end_sample - self.start_sample) / _SAMPLES_PER_MS

    def slice(self, pcm: bytes, first_sample: int = 0) -> bytes:
        """The segment's s16le bytes out of `pcm`, whose first sample is `first_sample`."""
        if self.start_sample < first_sample:
            raise ValueError("the PCM given starts after the segment")
        return pcm[2 * (self.start_sample - first_sample) : 2 * (self.end_sample - first_sample)]


@dataclass
class _Pause:
    start: int  # first frame below the silence threshold
    end: int  # next frame at or above the speech threshold (exclusive end of the pause)
    mean_prob: float

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class _Utterance:
    """The open utterance, unpadded: from its first speech frame on."""

    start: int
    continuation: bool  # follows a forced cut: never dropped as too short
    confirmed: bool = False  # long enough to keep (min_speech_ms); its padded start is known
    padded_start: int = 0
    pauses: list[_Pause] = field(default_factory=list)  # where a forced cut may go


@dataclass
class _Closed:
    """An ended utterance whose end padding is not known yet: it waits for the next start."""

    padded_start: int
    end: int  # unpadded
    forced: bool


class StreamingVad:
    """Feed PCM in pieces of any size, get each utterance once it is complete.

    One instance per stream; the model (stateless, thread-safe ONNX session) may be shared."""

    def __init__(self, settings: VadSettings | None = None, model: SileroModel | None = None) -> None:
        self.settings = settings or VadSettings()
        if model is None:
            from faster_whisper.vad import get_vad_model

            model = get_vad_model()  # cached: one session per process
        self._session = model.session
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._rest = np.zeros(0, dtype=np.float32)  # samples short of a whole frame
        self._odd = b""  # half a sample
        self._samples = 0  # samples fed so far
        self._frames = 0  # frames scored so far
        self._finished = False

        s = self.settings
        self._pad = s.speech_pad_ms * _SAMPLES_PER_MS
        self._min_silence = s.min_silence_ms * _SAMPLES_PER_MS
        self._min_speech = s.min_speech_ms * _SAMPLES_PER_MS
        self._max_speech = s.max_speech_samples
        self._threshold = s.threshold
        self._silence = s.silence_threshold

        self._trailing_silence = 0  # samples of non-speech at the end of what was scored
        self._open: _Utterance | None = None  # None between utterances
        self._pause_start: int | None = None  # of the open utterance's pause going on
        self._pause_sum = 0.0
        self._pause_frames = 0
        self._closed: _Closed | None = None
        self._last_end = 0  # end of the last segment returned
        self._out: list[Segment] = []

    @property
    def samples_fed(self) -> int:
        return self._samples

    @property
    def trailing_silence_ms(self) -> float:
        """How much of the end of the audio scored so far is not speech: a stream cut
        there cuts no word."""
        return self._trailing_silence / _SAMPLES_PER_MS

    @property
    def keep_from(self) -> int:
        """No segment returned later starts before this sample: older PCM may be dropped."""
        if self._closed is not None:
            return self._closed.padded_start
        if self._open is not None:
            if self._open.confirmed:
                return self._open.padded_start
            return max(0, self._last_end, self._open.start - self._pad)
        return max(0, self._last_end, self._frames * FRAME - self._pad)

    @property
    def speech_from(self) -> int | None:
        """Where the utterance being heard starts (padded), until the segment that holds
        it is returned; None between utterances. What a partial hypothesis transcribes."""
        if self._closed is not None:
            return self._closed.padded_start
        if self._open is None:
            return None
        return self.keep_from

    def feed(self, pcm: bytes) -> list[Segment]:
        """Takes the next s16le mono 16 kHz bytes; returns the segments completed by them."""
        if self._finished:
            raise RuntimeError("the stream was flushed")
        data = self._odd + pcm
        cut = len(data) - len(data) % 2
        self._odd = data[cut:]
        samples = np.frombuffer(data[:cut], dtype="<i2").astype(np.float32) / 32768.0
        self._samples += samples.size
        audio = np.concatenate((self._rest, samples)) if self._rest.size else samples
        whole = audio.size // FRAME
        self._rest = audio[whole * FRAME :].copy()
        for first in range(0, whole, _BATCH):
            frames = audio[first * FRAME : min(whole, first + _BATCH) * FRAME].reshape(-1, FRAME)
            for prob in self._score(frames):
                self._step(float(prob))
        return self._take()

    def flush(self) -> list[Segment]:
        """Ends the stream: returns what is left, the open utterance included if it holds speech."""
        if self._finished:
            return []
        self._finished = True
        if self._rest.size:  # the last, partial frame, padded with zeros as faster-whisper does
            frame = np.zeros((1, FRAME), dtype=np.float32)
            frame[0, : self._rest.size] = self._rest
            self._step(float(self._score(frame)[0]))
            self._rest = np.zeros(0, dtype=np.float32)
        total = self._samples
        utterance = self._open
        if utterance is not None:
            # get_speech_timestamps ends it at the end of the audio; in a pause it ends
            # here where the pause began, which keeps it within max_utterance_ms.
            end = self._pause_start if self._pause_start is not None else total
            long_enough = utterance.continuation or end - utterance.start > self._min_speech
            if not utterance.confirmed and long_enough:
                self._confirm(utterance)
            if utterance.confirmed:
                self._closed = _Closed(utterance.padded_start, end, False)
            self._open = None
            self._pause_start = None
        if self._closed is not None:
            closed, self._closed = self._closed, None
            self._emit(closed.padded_start, closed.end + self._pad, closed.forced)
        return self._take()

    # The model

    def _score(self, frames: np.ndarray) -> np.ndarray:
        """Speech probabilities of consecutive frames, carrying the model's state on."""
        previous = np.concatenate((self._context[None, :], frames[:-1, -_CONTEXT:]), axis=0)
        batch = np.ascontiguousarray(np.concatenate((previous, frames), axis=1), dtype=np.float32)
        probs, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._context = frames[-1, -_CONTEXT:].copy()
        return np.asarray(probs, dtype=np.float32).reshape(-1)

    # The cutting, frame by frame

    def _step(self, prob: float) -> None:
        here = self._frames * FRAME  # where this frame starts
        self._frames += 1
        self._trailing_silence = 0 if prob >= self._silence else self._trailing_silence + FRAME
        if self._open is not None:
            self._speech_step(here, prob)
        elif prob >= self._threshold:
            self._start(here, continuation=False)
        self._release(here + FRAME)

    def _start(self, at: int, continuation: bool) -> None:
        self._open = _Utterance(start=at, continuation=continuation)
        self._pause_start = None
        if continuation or self._min_speech < FRAME:
            self._confirm(self._open)

    def _confirm(self, utterance: _Utterance) -> None:
        """The utterance will be kept: pad the one before it, and it, across the gap."""
        utterance.confirmed = True
        if self._closed is not None:
            utterance.padded_start = self._close_gap(utterance.start)
        else:
            utterance.padded_start = max(0, self._last_end, utterance.start - self._pad)

    def _close_gap(self, next_start: int) -> int:
        """Returns the ended utterance with its end pad; gives the next one's padded start."""
        closed = self._closed
        assert closed is not None
        self._closed = None
        gap = next_start - closed.end
        pad = gap // 2 if gap < 2 * self._pad else self._pad
        self._emit(closed.padded_start, closed.end + pad, closed.forced)
        return max(0, next_start - pad)

    def _speech_step(self, here: int, prob: float) -> None:
        utterance = self._open
        assert utterance is not None
        if prob >= self._threshold:
            if self._pause_start is not None:
                mean = self._pause_sum / max(1, self._pause_frames)
                utterance.pauses.append(_Pause(self._pause_start, here, mean))
                self._pause_start = None
        else:
            if self._pause_start is None and prob < self._silence:
                self._pause_start, self._pause_sum, self._pause_frames = here, 0.0, 0
            if self._pause_start is not None:
                self._pause_sum += prob
                self._pause_frames += 1
                # get_speech_timestamps waits for a frame below the silence threshold here;
                # any frame under `threshold` will do. The end is the same place, found as
                # soon or sooner: they differ only if speech resumes before such a frame.
                if here - self._pause_start >= self._min_silence:
                    self._end(utterance, self._pause_start)
                    return
        if not utterance.confirmed:
            reached = self._pause_start if self._pause_start is not None else here + FRAME
            if reached - utterance.start > self._min_speech:
                self._confirm(utterance)
        # In a pause the utterance does not grow: if the pause lasts, it ends where the
        # pause began. It grows when speech goes on, and that is when it may be cut.
        if self._pause_start is None and here + 2 * FRAME - utterance.start > self._max_speech:
            self._force(utterance, here + FRAME)

    def _end(self, utterance: _Utterance, end: int) -> None:
        """A pause of min_silence_ms ended it: kept if long enough."""
        if not utterance.confirmed and end - utterance.start > self._min_speech:
            self._confirm(utterance)
        if utterance.confirmed:
            self._closed = _Closed(utterance.padded_start, end, False)
        self._open = None
        self._pause_start = None

    def _force(self, utterance: _Utterance, now: int) -> None:
        """One more frame would make it too long: cut at its longest pause, the rest goes on.

        Every pause start and `now` are within max_speech_samples of the utterance's start:
        the check runs on every frame outside a pause, so a cut anywhere fits."""
        if not utterance.confirmed:
            self._confirm(utterance)
        best = None
        if utterance.pauses:  # the longest; the quietest of equals; the latest of those
            best = max(reversed(utterance.pauses), key=lambda pause: (pause.length, -pause.mean_prob))
        cut_end, rest_start = (best.start, best.end) if best is not None else (now, now)
        self._closed = _Closed(utterance.padded_start, cut_end, True)
        rest = _Utterance(start=rest_start, continuation=True)
        rest.pauses = [p for p in utterance.pauses if p.start >= rest_start]
        self._open = rest
        self._confirm(rest)

    def _release(self, scored_to: int) -> None:
        """Returns the ended utterance once no kept utterance can start within two pads of it."""
        closed = self._closed
        if closed is None:
            return
        reach = closed.end + 2 * self._pad
        if scored_to < reach:
            return
        if self._open is not None and self._open.start < reach:
            return  # not yet confirmed: if it is kept, it shares the gap
        self._closed = None
        self._emit(closed.padded_start, closed.end + self._pad, closed.forced)

    def _emit(self, start: int, end: int, forced: bool) -> None:
        start = max(start, self._last_end)
        end = min(end, self._samples)
        if end > start:
            self._out.append(Segment(start, end, forced))
            self._last_end = end

    def _take(self) -> list[Segment]:
        out, self._out = self._out, []
        return out
