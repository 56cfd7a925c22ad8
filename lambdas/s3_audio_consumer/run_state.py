"""The session worker's bookkeeping: its settings, what one run did (`WorkerRun`, for
the handler's metrics and the tests), and the state a run carries between its steps
(`RunState`, with the stream it feeds and a successor's stream opened while standing by).

Plain data: the run loop (`worker.py`), the stream's lifecycle (`streams.py`), the
delivery (`delivery.py`) and the lease's beat (`beats.py`) share it."""

from __future__ import annotations

from dataclasses import dataclass, field

from s3_audio_consumer.lease import Checkpoint, Claim, SessionView
from s3_audio_consumer.live_text import LiveText
from s3_audio_consumer.planner import Cursor
from s3_audio_consumer.recognition import RecognitionStream
from s3_audio_consumer.utterances import UtteranceCutter


@dataclass(frozen=True)
class WorkerSettings:
    handover_after_s: float = 720.0  # AWS's Live Call Analytics sample hands over at 12 minutes
    handover_pause_wait_s: float = 30.0
    heartbeat_s: float = 1.0
    poll_s: float = 0.1
    idle_close_s: float = 10.0  # Transcribe times a stream out after 15 s without audio
    close_timeout_s: float = 10.0
    start_retries: int = 3
    park_after_s: float = 30.0  # no audio this long (a pause): checkpoint and exit
    hand_off_retries: int = 4  # invoke attempts after the first, 0.2 s doubling
    prepare_lead_s: float = 10.0  # a successor's cold start (1-4 s) and stream start, with margin
    standby_keepalive_s: float = 2.0  # Transcribe ends a stream after 15 s without audio


@dataclass(frozen=True)
class WorkerRun:
    outcome: str  # ended | handed_over | parked | lost_lease | not_claimed | stream_failed | hand_off_failed
    generation: int
    utterances: int = 0
    streams: int = 0
    fed_ms: int = 0
    gaps: int = 0  # chunks waited for and skipped
    decode_failures: int = 0
    hand_off_retries: int = 0
    close_timeouts: int = 0  # streams whose last results did not all come in time
    missed_ms: int = 0  # audio that never arrived (gaps waited for and skipped)
    undelivered: int = 0  # utterances the processor would not take, kept in the undelivered queue


class HandOffFailed(RuntimeError):
    """Neither the processor nor the undelivered queue took an utterance: the worker
    stops without moving its checkpoint, so its replacement delivers it again."""


class LeaseLost(RuntimeError):
    """Another worker holds the session now: stop at once, touch nothing."""


@dataclass
class Stretch:
    """One recognition stream and what it has been fed."""

    stream: RecognitionStream
    cutter: UtteranceCutter
    last_audio_at: float


@dataclass
class Standby:
    """A successor's stream, opened before the handover: `silence_ms` of keep-alive
    silence went in first."""

    stream: RecognitionStream
    silence_ms: int = 0


@dataclass
class RunState:
    session_id: str
    owner: str
    claim: Claim
    point: Checkpoint
    view: SessionView
    started_at: float
    segments: list[tuple[int, Cursor]] = field(default_factory=list)  # (start_ms, cursor cut from)
    stretch: Stretch | None = None
    beat_at: float = 0.0
    progressed: bool = False  # a segment reached the stream: the start grace is over
    prepared: bool = False  # the successor was started early
    standby: Standby | None = None  # this worker's own stream, opened while standing by
    last_audio_at: float = 0.0
    streams: int = 0
    utterances: int = 0
    fed_ms: int = 0
    hand_off_retries: int = 0
    close_timeouts: int = 0
    undelivered: int = 0
    missed_ms: int = 0  # audio that never arrived, skipped
    untold_gap_ms: int = 0  # ... not yet told to the speaker (with the next utterance)
    refed_from_ms: int | None = None  # where the last cut-off close had the audio fed again
    live: LiveText | None = None  # the running utterance shown while it is spoken
