"""The offline counterpart of Amazon Transcribe streaming, for `make local`.

Silero VAD (inside faster-whisper) cuts the continuous PCM at pauses (300 ms of
silence, 150 ms of padding, a forced cut at the longest pause once an utterance
reaches 7 s), and Whisper transcribes each piece. Each piece comes back as one final
result, with its words spread over the piece's time: the worker's utterance cutter
then treats it as Transcribe's final of that pause. While a piece is spoken, every
`PARTIAL_EVERY_S` of its audio (when no final is waiting) the speech heard so far is
transcribed again and sent as a partial result: words are marked stable once two
consecutive hypotheses agree on them (Transcribe's "high" stabilization, the local
Transcribe endpoint's `ResultTrack`), and the final keeps the stable words as they were.
The worker shows the running utterance from these partials (live text, §15) but does
not cut them (`cuts_own_results`: the pieces are at most 7 s already). Recognition runs
on a thread of the stream, so the worker keeps heartbeating and feeding while Whisper works.

`RECOGNIZER=local.engines.streaming:build` makes the unchanged worker use it."""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from aws_sdk_transcribe_streaming.models import Alternative, Item, Result

from local.endpoints.transcribe_protocol import ResultTrack
from local.engines import whisper_model
from local.engines.vad_stream import Segment, StreamingVad, VadSettings
from s3_audio_consumer.recognition import StreamFailed
from s3_audio_consumer.utterances import StreamResult, from_sdk_result
from shared.audio_unit import BYTES_PER_SAMPLE, PCM_SAMPLE_RATE
from shared.languages import Language

RATE = PCM_SAMPLE_RATE
PAUSE_MS = 200  # this much silence at the end of the fed audio: a handover here splits no word
PARTIAL_EVERY_S = 1.0  # of a piece's audio; one Whisper call each (~0.3 s on 2 cores)
# "idle" (default): a partial only when the recognizer has nothing else to do, so a final
# never waits for one (on a loaded machine there may be none). "queued": a partial may wait
# behind the finals, one at a time (tests: partials however loaded the machine is; a final
# waits for at most one partial). A closing stream transcribes no more partials.
PARTIALS_VARIABLE = "LOCAL_RECOGNIZER_PARTIALS"
STABILITY = "high"  # two agreeing hypotheses make a word stable


def _sdk_result(body: dict[str, Any]) -> StreamResult:
    """A result in Transcribe's JSON (ResultTrack's) -> the SDK's own objects -> the
    worker's, as the production adapter converts them."""
    alternative = body["Alternatives"][0]
    spoken = [item for item in alternative["Items"] if item["Type"] == "pronunciation"]
    if spoken and not body["IsPartial"]:
        # Whisper gives no word times: a piece's last word ends where the piece does (its
        # stable words kept the times of the partial that froze them, which heard less).
        spoken[-1]["EndTime"] = max(spoken[-1]["EndTime"], body["EndTime"])
    items = [
        Item(
            start_time=item["StartTime"],
            end_time=item["EndTime"],
            type=item["Type"],
            content=item["Content"],
            stable=item.get("Stable"),
        )
        for item in alternative["Items"]
    ]
    return from_sdk_result(
        Result(
            result_id=body["ResultId"],
            start_time=body["StartTime"],
            end_time=body["EndTime"],
            is_partial=body["IsPartial"],
            alternatives=[Alternative(transcript=alternative["Transcript"], items=items, entities=[])],
        )
    )


@dataclass(frozen=True)
class _Job:
    track: ResultTrack
    pcm: bytes
    end_s: float
    final: bool


@dataclass
class LocalStream:
    language: Language
    every_partial: bool = False
    vad: StreamingVad = field(default_factory=lambda: StreamingVad(VadSettings()))

    def __post_init__(self) -> None:
        self._pcm = bytearray()  # from sample `_first` on: what a future piece may still need
        self._first = 0
        self._pieces: queue.Queue[_Job | None] = queue.Queue()
        self._track: ResultTrack | None = None  # the result now open (its partials, then its final)
        self._partial_at = 0  # samples heard when the last partial was asked for
        self._busy = False  # the recognizer thread is transcribing
        self._partial_waiting = False  # a partial job is queued, not started
        self._closing = False
        self._results: list[StreamResult] = []
        self._lock = threading.Lock()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._recognize, daemon=True, name="local-recognizer")
        self._thread.start()

    def send(self, pcm: bytes) -> None:
        if self._failure is not None:
            raise StreamFailed(f"local recognizer failed: {self._failure}", retryable=True)
        self._pcm += pcm
        self._queue(self.vad.feed(pcm))
        self._maybe_partial()
        drop = self.vad.keep_from - self._first  # samples no piece can start before any more
        if drop > 0:
            del self._pcm[: drop * BYTES_PER_SAMPLE]
            self._first += drop

    def _queue(self, segments: list[Segment]) -> None:
        for segment in segments:
            track = self._track
            # A partial heard past the pause that ended this piece may have made words of the
            # next one stable: this piece's final starts afresh (its partials' clauses are not
            # reused then; the worker sees its text does not start with them).
            beyond = track is not None and track.stable_until_s * RATE > segment.end_sample
            if track is None or track.start_s * RATE >= segment.end_sample or beyond:
                track = ResultTrack(segment.start_sample / RATE, STABILITY)
            self._track = None  # the next partial opens the next result
            pcm = segment.slice(bytes(self._pcm), self._first)
            self._pieces.put(_Job(track, pcm, segment.end_sample / RATE, final=True))

    def _maybe_partial(self) -> None:
        """A partial over the open piece's speech, when a second more of it was heard and
        the recognizer has nothing else to do (a final never waits for a partial)."""
        start, heard = self.vad.speech_from, self.vad.samples_fed
        if start is None or heard - max(self._partial_at, start) < PARTIAL_EVERY_S * RATE:
            return
        if self._closing or self._partial_waiting:
            return
        if not self.every_partial and (self._busy or not self._pieces.empty()):
            return
        self._partial_waiting = True
        self._partial_at = heard
        if self._track is None:
            self._track = ResultTrack(start / RATE, STABILITY)
        speech_end = heard - int(self.vad.trailing_silence_ms * RATE / 1000)
        begin = max(start, self._first) - self._first
        pcm = bytes(self._pcm[begin * BYTES_PER_SAMPLE :])
        self._pieces.put(_Job(self._track, pcm, max(speech_end, start) / RATE, final=False))

    def _recognize(self) -> None:
        transcriber = whisper_model()
        while (job := self._pieces.get()) is not None:
            if not job.final:
                self._partial_waiting = False
                if self._closing:
                    continue  # the stream ends: only its finals matter now
            self._busy = True
            try:
                text = transcriber.transcribe(job.pcm, RATE, self.language).strip()
            except Exception as error:  # the worker sees it on its next send
                self._failure = error
                return
            finally:
                self._busy = False
            if not text:
                continue
            body = job.track.final(text, job.end_s) if job.final else job.track.partial(text, job.end_s)
            with self._lock:
                self._results.append(_sdk_result(body))

    def at_pause(self) -> bool:
        return self.vad.trailing_silence_ms >= PAUSE_MS

    @property
    def working(self) -> bool:
        """A piece or a partial is waiting for Whisper or in it (a test may wait it out)."""
        return self._busy or not self._pieces.empty()

    def results(self) -> list[StreamResult]:
        with self._lock:
            out, self._results = self._results, []
        return out

    def close(self, timeout_s: float) -> list[StreamResult]:
        self._closing = True
        self._queue(self.vad.flush())
        self._pieces.put(None)
        self._thread.join(timeout_s)
        return self.results()


class LocalRecognizer:
    cuts_own_results = True  # results end at VAD pieces of at most 7 s: no early cuts

    def __init__(self) -> None:
        # Loaded before the worker takes its lease: a first stream must not stall on it.
        from faster_whisper.vad import get_vad_model

        get_vad_model()
        whisper_model()

    def start(self, language: Language, sample_rate: int) -> LocalStream:
        if sample_rate != RATE:
            raise StreamFailed(f"the local recognizer takes {RATE} Hz PCM", retryable=False)
        return LocalStream(language, every_partial=os.environ.get(PARTIALS_VARIABLE, "idle") == "queued")


def build() -> LocalRecognizer:
    return LocalRecognizer()
