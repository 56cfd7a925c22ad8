"""The session worker's world on a fake clock, for its fault tests and the fault bench.

The real worker, lease, cursor, segmenter and keyed chunk store run on moto (S3,
DynamoDB) with real ffmpeg, against a Transcribe-like stream (`fake_transcribe.py`).
Around them, the parts of AWS that start and feed workers run as events in time
order, with the product's own code where it exists:
- a real browser capture's chunks arrive at their recorded pace (S3 GETs cost
  `get_latency_s`); the session item's `lastSeq` follows what arrived, as the
  connection handler keeps it; the talk ends by the speaker (status and `finalSeq`) or
  by the grace timer (no `finalSeq`);
- after each chunk, and at the end, the chunk writer's `WorkerGuard` (the kick and the
  worker watch); every watch message fires `WorkerWatch.fire` after its delay;
- each worker start (a kick, a watch restart or a handover) runs a `SessionWorker` after
  a cold start;
- faults: the running worker dies at given times (at whatever line it is on), chunks
  never arrive, the speaker goes offline and resends what the app kept, pauses, the
  processor invoke fails, a worker stalls while a replacement takes over, two kicks
  come at once.

`World.run()` returns a `WorldReport`: what the listeners got (through the processor's
per-index ledger), what was lost or doubled, recovery times and costs."""

from __future__ import annotations

import heapq
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.kit.fake_transcribe import WORD_MS, FakeTranscribe, TranscribeTiming
from s3_audio_consumer.adapters import DynamoCursorStore
from s3_audio_consumer.decoder import FfmpegDecoder
from s3_audio_consumer.keyed_chunks import KeyedChunkStore
from s3_audio_consumer.lease import DynamoLease
from s3_audio_consumer.planner import PlanSettings
from s3_audio_consumer.ports import Successor, UndeliveredSink, UtteranceSink
from s3_audio_consumer.segmenter import Segmenter
from s3_audio_consumer.utterances import Utterance
from s3_audio_consumer.worker import SessionWorker, TrackedCursors, WorkerRun, WorkerSettings
from shared import resources
from shared.worker_kick import LEASE_MS, WorkerKick, WorkerStart
from shared.worker_watch import WatchMessage, WorkerWatch

START = 1_800_000_000.0
SESSION = "steady-river-1234"
BUCKET = "world-chunks"
GRACE_S = 120.0  # the speaker's grace period: a talk the timer ends, ends this much later
RESEND_STEP_S = 0.05  # the app's catch-up pace after a reconnect (20 chunks a second)


class Crash(BaseException):
    """The worker's Lambda died here: nothing after this line runs."""


@dataclass(frozen=True)
class Timing:
    get_latency_s: float = 0.05
    cold_start_s: float = 2.0
    decode_s: float = 0.1  # ffmpeg per segment
    transcribe: TranscribeTiming = field(default_factory=TranscribeTiming)


@dataclass(frozen=True)
class Faults:
    crash_at: tuple[float, ...] = ()  # seconds from the talk's start: the running worker dies
    never_arrive: frozenset[int] = frozenset()
    outage: tuple[float, float] | None = None  # the speaker is offline from..to (s)
    app_buffer_chunks: int = 600  # chunks the speaker app keeps unsent (oldest dropped)
    pause: tuple[float, float] | None = None  # at (s), for (s): the speaker pauses
    invoke_failures: int = 0  # the processor invoke fails this often; -1: always
    queue_fails: bool = False  # the undelivered queue refuses too
    stall: tuple[float, float] | None = None  # at (s), for (s): the worker freezes
    double_kick: bool = False
    ended_by: str = "speaker"  # or "grace": the speaker vanished, the grace timer ends the talk
    handover_after_s: float = 10_000.0
    horizon_s: float = 900.0  # the world stops this long after the talk's end


@dataclass
class Delivered:
    utterance: Utterance
    at: float  # clock time the processor received it
    generation: int  # of the worker that delivered it
    missed_before_ms: int = 0  # the gap the speaker is told of with it


@dataclass
class WorldReport:
    talk_ms: int
    delivered: dict[int, Delivered]
    duplicates: int  # second hand-offs of an index, dropped by the ledger
    undelivered: dict[int, Delivered]  # kept in the undelivered queue (the processor refused)
    runs: list[tuple[float, WorkerRun | None]]  # (start time, run or None if it crashed)
    missed_ms: int  # audio reported lost (gaps)
    expected_missed_ms: int  # audio of the chunks that never arrived
    recoveries_s: list[float]  # per crash or failure: until audio flows again (or the talk is done)
    max_beat_gap_s: float  # the longest a healthy worker went without an owned write
    transcribe_billed_s: float
    lambda_s: float  # worker Lambda time, cold starts included
    done: bool  # the talk was flushed and the worker finished
    done_at: float | None
    talk_end: float

    @property
    def indexes(self) -> list[int]:
        return sorted(self.delivered)

    def spans(self) -> list[tuple[int, int]]:
        return sorted((d.utterance.start_ms, d.utterance.end_ms) for d in self.delivered.values())

    def covered_ms(self) -> int:
        return sum(end - start for start, end in self.spans())

    def overlaps(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """Utterances whose audio overlaps by more than half a word: a word delivered
        twice. (A stream that re-recognizes audio after a crash cuts its words elsewhere
        than the first did; a word is kept by the side its midpoint is on, so a word's
        edge may straddle by less than half a word.)"""
        spans, slack = self.spans(), WORD_MS // 2
        return [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1] - slack]

    def lost_ms(self) -> int:
        """Audio of the talk in no delivered utterance and in no reported gap."""
        return max(0, self.talk_ms - self.covered_ms() - self.missed_ms)


class Clock:
    """Simulated time shared by the world and its workers, each worker in a thread of
    its own. Only one thread runs at a time: a thread runs until it sleeps (or ends);
    then the world moves the clock to the next wake-up or event, whichever is first.
    So two workers (a predecessor and its standing-by successor, or a stalled worker
    and its replacement) interleave as they would on AWS, deterministically. A thread a
    worker starts (its stream start on a helper thread) takes turns the same way."""

    def __init__(self) -> None:
        self.now = START
        self.hook: Callable[[], None] | None = None  # faults: runs on each read by a worker
        self._cv = threading.Condition()
        # Sleeping threads: wake time, then the order they went to sleep (thread idents are
        # addresses, so a tie broken by them would make the interleaving differ between runs).
        self._wakes: dict[int, tuple[float, int, threading.Thread]] = {}
        self._slept = itertools.count()
        self._running: int | None = None  # the thread whose turn it is

    def __call__(self) -> float:
        if self.hook is not None and threading.current_thread() is not threading.main_thread():
            self.hook()
        return self.now

    def sleep(self, seconds: float) -> None:
        me = threading.get_ident()
        with self._cv:
            self._wakes[me] = (self.now + max(seconds, 0.001), next(self._slept), threading.current_thread())
            if self._running == me:
                self._running = None
            self._cv.notify_all()
            self._cv.wait_for(lambda: self._running == me)
            del self._wakes[me]

    def spawn(self, work: Callable[[], None]) -> None:
        """Runs `work` in a thread of its own from now on; returns once it waits for its turn."""

        def body() -> None:
            self.sleep(0.0)  # wait for the first turn
            try:
                work()
            finally:
                with self._cv:
                    self._running = None
                    self._cv.notify_all()

        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        with self._cv:
            self._cv.wait_for(lambda: thread.ident in self._wakes)

    def next_wake(self) -> float | None:
        with self._cv:
            return min((at for at, _, _ in self._wakes.values()), default=None)

    def resume_next(self) -> None:
        """Gives the turn to the thread that wakes first; returns when it sleeps or ends."""
        with self._cv:
            at, _, tid, thread = min((at, seq, tid, t) for tid, (at, seq, t) in self._wakes.items())
            self.now = max(self.now, at)
            self._running = tid
            self._cv.notify_all()
            while not self._cv.wait_for(lambda: self._running != tid, timeout=0.05):
                if not thread.is_alive():  # a helper thread ended without sleeping again
                    self._running = None


class ArrivingS3:
    """moto's S3 holding every chunk that will ever arrive; a chunk is visible from its
    arrival time on the world's clock."""

    def __init__(self, s3: Any, world: World) -> None:
        self._s3, self._world = s3, world

    def _visible(self, key: str) -> bool:
        parsed = resources.parse_chunk_key(key)
        at = self._world.arrival.get(parsed.seq) if parsed and parsed.seq is not None else None
        return at is not None and self._world.clock.now >= at

    def get_object(self, Bucket: str, Key: str) -> Any:
        from botocore.exceptions import ClientError

        self._world.clock.now += self._world.timing.get_latency_s / 8  # eight GETs in flight
        if not self._visible(Key):
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "not yet"}}, "GetObject")
        return self._s3.get_object(Bucket=Bucket, Key=Key)

    def list_objects_v2(self, **kwargs: Any) -> Any:
        self._world.clock.now += self._world.timing.get_latency_s
        page = self._s3.list_objects_v2(**kwargs)
        page["Contents"] = [o for o in page.get("Contents", []) if self._visible(o["Key"])]
        return page


class SyncedTable:
    """The sessions table, with the session item brought up to the clock before each
    call (what the connection handler and the grace timer would have written), and the
    owners' write times recorded (the lease's liveness)."""

    def __init__(self, table: Any, world: World) -> None:
        self._table, self._world = table, world
        self.owned_writes: dict[str, list[float]] = {}

    def get_item(self, **kwargs: Any) -> Any:
        self._world.sync()
        return self._table.get_item(**kwargs)

    def update_item(self, **kwargs: Any) -> Any:
        self._world.sync()
        result = self._table.update_item(**kwargs)
        owner = kwargs.get("ExpressionAttributeValues", {}).get(":owner")
        if isinstance(owner, str):
            self.owned_writes.setdefault(owner, []).append(self._world.clock.now)
        return result


@dataclass
class FakeLambda:
    """The Invoke API: a worker start becomes a run after a cold start."""

    world: World

    def invoke(self, FunctionName: str, InvocationType: str, Payload: str | bytes) -> dict[str, Any]:
        start = WorkerStart.parse(json.loads(Payload))
        assert start is not None
        self.world.schedule(self.world.clock.now + self.world.timing.cold_start_s, "start", start.generation)
        return {"StatusCode": 202}


class World:
    def __init__(
        self, s3: Any, table: Any, chunks: list[bytes], timings_ms: list[int], ffmpeg: str, *,
        talk_ms: int, faults: Faults | None = None, timing: Timing | None = None,
    ) -> None:  # fmt: skip
        self.faults, self.timing = faults or Faults(), timing or Timing()
        self.clock = Clock()
        self._synced: dict[str, Any] = {}
        self.arrival = self._arrivals(timings_ms)
        self.talk_ms = talk_ms
        self.talk_end = max(self.arrival.values()) + 0.5
        self.table = SyncedTable(table, self)
        self.s3 = ArrivingS3(s3, self)
        self._prepare(s3, table, chunks)
        self.decoder = FfmpegDecoder(ffmpeg)
        self.recognizer = FakeTranscribe(self.clock, self.clock.sleep, self.timing.transcribe)
        self.lambda_client = FakeLambda(self)
        self.kick = WorkerKick(self.table, self.lambda_client, "s3-audio-consumer-world", self.clock)
        self.watch = WorkerWatch(self.table, self.kick, self._watch_message, self.clock)
        self._events: list[tuple[float, int, str, Any]] = []
        self._order = 0
        self.delivered: dict[int, Delivered] = {}
        self.duplicates = 0
        self.undelivered: dict[int, Delivered] = {}
        self.invokes = 0
        self.runs: list[tuple[float, WorkerRun | None]] = []
        self.crashes = sorted(START + t for t in self.faults.crash_at)
        self.failures: list[float] = []  # crash or failure times
        self.stalled_at: tuple[float, float] | None = None
        self.lambda_s = 0.0
        self.claims: list[float] = []  # when each worker began (after its cold start)

    # -- the talk ----------------------------------------------------------------------
    def _arrivals(self, timings_ms: list[int]) -> dict[int, float]:
        faults, arrival = self.faults, {}
        for seq, at_ms in enumerate(timings_ms):
            at = at_ms / 1000
            if faults.pause and at >= faults.pause[0]:
                at += faults.pause[1]
            arrival[seq] = at
        if faults.outage:
            arrival = self._resent(arrival, *faults.outage)
        return {seq: START + at for seq, at in arrival.items() if seq not in faults.never_arrive}

    def _resent(self, arrival: dict[int, float], begin: float, end: float) -> dict[int, float]:
        """Chunks made while the speaker was offline arrive after the reconnect, at the
        app's catch-up pace; the app kept only the newest `app_buffer_chunks` (and chunk 0)."""
        offline = [seq for seq, at in sorted(arrival.items()) if begin <= at < end]
        kept = offline[-self.faults.app_buffer_chunks :] if self.faults.app_buffer_chunks else []
        for seq in offline:
            if seq in kept or seq == 0:
                arrival[seq] = end + RESEND_STEP_S * (kept.index(seq) if seq in kept else 0)
            else:
                del arrival[seq]
        return arrival

    def _prepare(self, s3: Any, table: Any, chunks: list[bytes]) -> None:
        s3.create_bucket(Bucket=BUCKET)
        for seq in self.arrival:
            s3.put_object(Bucket=BUCKET, Key=resources.chunk_key(SESSION, seq), Body=chunks[seq])
        table.put_item(
            Item={
                "sessionId": SESSION,
                "sourceLanguage": "en",
                "status": "active",
                "expiresAt": int(START) + resources.SESSION_MAX_SECONDS,
            }
        )
        # Each chunk is one ~300 ms Cluster of the capture (MediaRecorder's timeslice).
        self.expected_missed_ms = 300 * sum(1 for seq in range(len(chunks)) if seq not in self.arrival)

    def sync(self) -> None:
        """The session item as the connection handler and the grace timer leave it now."""
        now = self.clock.now
        arrived = [seq for seq, at in self.arrival.items() if at <= now]
        values: dict[str, Any] = {":seq": max(arrived, default=-1)}
        expression = "SET lastSeq = :seq"
        ended_at = self.talk_end + (GRACE_S if self.faults.ended_by == "grace" else 0)
        if now >= ended_at:
            expression += ", #status = :ended"
            values[":ended"] = "ended"
            if self.faults.ended_by == "speaker":
                expression += ", finalSeq = :final"
                values[":final"] = max(self.arrival)
        elif now >= self.talk_end and self.faults.ended_by == "grace":
            expression += ", #status = :suspended"
            values[":suspended"] = "suspended"
        if values == self._synced:
            return  # nothing changed since the last call
        self._synced = values
        self.table._table.update_item(
            Key={"sessionId": SESSION},
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": {"#status": "status"}} if "#status" in expression else {}),
        )

    # -- events ------------------------------------------------------------------------
    def schedule(self, at: float, kind: str, payload: Any = None) -> None:
        self._order += 1
        heapq.heappush(self._events, (at, self._order, kind, payload))

    def _watch_message(self, message: WatchMessage, delay_seconds: int) -> None:
        self.schedule(self.clock.now + delay_seconds, "watch", message)

    def run(self) -> WorldReport:
        for seq, at in self.arrival.items():
            self.schedule(at, "chunk", seq)
        ended_at = self.talk_end + (GRACE_S if self.faults.ended_by == "grace" else 0)
        self.schedule(ended_at, "end")
        horizon = ended_at + self.faults.horizon_s
        self.clock.hook = self._faults_hook
        try:
            while not self._done() and self._step(horizon):
                pass
        finally:
            self.clock.hook = None
        return self._report()

    def _step(self, horizon: float) -> bool:
        """The next thing to happen: a sleeping worker wakes, or an event. False when
        nothing is left before the horizon."""
        wake = self.clock.next_wake()
        event_at = self._events[0][0] if self._events else None
        if wake is not None and (event_at is None or wake <= event_at):
            if wake > horizon:
                return False
            self.clock.resume_next()
            return True
        if event_at is None or event_at > horizon:
            return False
        at, _, kind, payload = heapq.heappop(self._events)
        self.clock.now = max(self.clock.now, at)
        self._handle(kind, payload)
        return True

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "chunk":
            self._guard(payload)
        elif kind == "end":
            self._guard(None)  # the end marker's write
        elif kind == "watch":
            self.watch.fire(payload)
        elif kind == "start":
            generation = int(payload)
            self.clock.spawn(lambda: self._start(generation))

    def _guard(self, seq: int | None) -> None:
        from chunk_writer.guard import WorkerGuard

        started = WorkerGuard(self.kick, self.watch).after_store(SESSION, seq).started
        if started is not None and self.faults.double_kick:
            self.schedule(self.clock.now + self.timing.cold_start_s, "start", started)

    def _done(self) -> bool:
        item = self.table._table.get_item(Key={"sessionId": SESSION})["Item"]
        return bool((item.get("worker") or {}).get("done"))

    # -- workers -----------------------------------------------------------------------
    def _start(self, generation: int) -> None:
        """One worker Lambda, in a thread of its own."""
        began = self.clock.now - self.timing.cold_start_s
        self.claims.append(self.clock.now)
        worker = self._worker(generation)
        try:
            run: WorkerRun | None = worker.run(SESSION, generation, deadline=self.clock.now + 840)
        except Crash:
            run = None
        self.lambda_s += self.clock.now - began
        self.runs.append((began, run))
        if run is not None and run.outcome in ("stream_failed", "hand_off_failed"):
            self.failures.append(self.clock.now)

    def _faults_hook(self) -> None:
        now = self.clock.now
        if self.crashes and now >= self.crashes[0]:
            self.crashes.pop(0)
            self.failures.append(now)
            raise Crash(f"crashed at {now - START:.1f} s")
        stall = self.faults.stall
        if stall and START + stall[0] <= now and not self.stalled_at:
            # The worker freezes (a long GC, a hung call): the world goes on without it.
            self.stalled_at = (now, now + stall[1])
            self.clock.sleep(stall[1])

    def _worker(self, generation: int) -> SessionWorker:
        return build_worker(
            WorkerParts(
                self.table,
                self.s3,
                self.clock,
                _TimedDecoder(self.decoder, self.clock, self.timing.decode_s),
                self.recognizer,
                lambda session_id, language, utterance, missed=0: self._sink(utterance, generation, missed),
                self._successor,
                lambda session_id, language, utterance, missed, error: self._keep(
                    utterance, generation, missed
                ),
            ),
            WorkerSettings(handover_after_s=self.faults.handover_after_s, handover_pause_wait_s=5),
        )

    def _successor(self, session_id: str, generation: int) -> None:
        payload = json.dumps(WorkerStart(session_id, generation).payload())
        self.lambda_client.invoke("s3-audio-consumer-world", "Event", payload)

    def _sink(self, utterance: Utterance, generation: int, missed_before_ms: int) -> None:
        """The processor's invoke and its per-index delivery ledger."""
        self.invokes += 1
        failures = self.faults.invoke_failures
        if failures < 0 or self.invokes <= failures:
            raise ConnectionError(f"invoke {self.invokes} failed")
        if utterance.index in self.delivered:
            self.duplicates += 1
            return
        self.delivered[utterance.index] = Delivered(utterance, self.clock.now, generation, missed_before_ms)

    def _keep(self, utterance: Utterance, generation: int, missed_before_ms: int) -> None:
        """The undelivered queue (SQS: at least once; an operator redrives it)."""
        if self.faults.queue_fails:
            raise ConnectionError("the undelivered queue is unavailable")
        self.undelivered[utterance.index] = Delivered(utterance, self.clock.now, generation, missed_before_ms)

    # -- the report --------------------------------------------------------------------
    def _report(self) -> WorldReport:
        return WorldReport(
            talk_ms=self.talk_ms,
            delivered=self.delivered,
            duplicates=self.duplicates,
            undelivered=self.undelivered,
            runs=self.runs,
            missed_ms=sum(run.missed_ms for _, run in self.runs if run is not None),
            expected_missed_ms=self.expected_missed_ms,
            recoveries_s=self._recoveries(),
            max_beat_gap_s=self._max_beat_gap(),
            transcribe_billed_s=self.recognizer.billed_seconds(),
            lambda_s=self.lambda_s,
            done=self._done(),
            done_at=self.clock.now if self._done() else None,
            talk_end=self.talk_end,
        )

    def _recoveries(self) -> list[float]:
        """Per failure: until a replacement worker was running (its cold start included)."""
        out = []
        for failed in self.failures:
            later = [t for t in self.claims if t > failed]
            out.append((later[0] if later else self.clock.now) - failed)
        return out

    def _max_beat_gap(self) -> float:
        stall = self.stalled_at
        gaps = [
            b - a
            for times in self.table.owned_writes.values()
            for a, b in itertools.pairwise(times)
            if not (stall and a <= stall[0] and b >= stall[1])  # the stall's own gap
        ]
        return max(gaps, default=0.0)


@dataclass(frozen=True)
class WorkerParts:
    """What a worker is built from in the tests and the bench: the production classes
    on moto, with the clock, recognizer, sink and successor a test gives."""

    table: Any
    s3: Any
    clock: Any  # a callable clock with .sleep (the world's, or a test's)
    decoder: Any
    recognizer: Any
    sink: UtteranceSink
    successor: Successor
    undelivered: UndeliveredSink
    bucket: str = BUCKET


def build_worker(parts: WorkerParts, settings: WorkerSettings) -> SessionWorker:
    """The worker as `s3_audio_consumer/wiring.py` builds it, on the given parts."""
    chunks = KeyedChunkStore(parts.s3, parts.bucket, parts.clock)
    plan = PlanSettings(target_ms=600, max_chunks_per_read=chunks.read_ahead)
    return SessionWorker(
        lease=DynamoLease(parts.table, LEASE_MS),
        cursors=lambda owner: TrackedCursors(DynamoCursorStore(parts.table, owner)),
        segmenter=lambda cursors, deliver: Segmenter(
            cursors, chunks, parts.decoder, deliver, plan, parts.clock
        ),
        hints=chunks.hints,
        recognizer=parts.recognizer,
        sink=parts.sink,
        undelivered=parts.undelivered,
        successor=parts.successor,
        clock=parts.clock,
        sleep=parts.clock.sleep,
        settings=settings,
    )


class _TimedDecoder:
    def __init__(self, inner: FfmpegDecoder, clock: Clock, seconds: float) -> None:
        self._inner, self._clock, self._seconds = inner, clock, seconds

    def decode(self, webm: bytes, drop_samples_48k: int = 0) -> bytes:
        self._clock.now += self._seconds
        return self._inner.decode(webm, drop_samples_48k)
