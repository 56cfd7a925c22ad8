"""One open Transcribe stream, the worker's `RecognitionStream` on AWS.

It has a sender task, which sends the PCM queued by `send` as uniform 100 ms audio
events, and a reader task, which converts each transcript event's results as they come,
both on the process's event loop (transcribe_sdk.LOOP). A failure of either is kept and
raised as `StreamFailed` by the next call. Its methods are meant to be called from one
thread (the worker's)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aws_sdk_transcribe_streaming.models import (
    AudioEvent,
    AudioStreamAudioEvent,
    TranscriptResultStreamTranscriptEvent,
)

from s3_audio_consumer.loudness import TailLoudness
from s3_audio_consumer.recognition import AUDIO_EVENT_BYTES, StreamFailed
from s3_audio_consumer.transcribe_sdk import close_quietly, run_on, stream_failed
from s3_audio_consumer.utterances import StreamResult, from_sdk_result

# The adapter's one logger, whichever of its modules logs (aws_recognizer.py is its entry).
logger = logging.getLogger("s3_audio_consumer.aws_recognizer")


# Transcribe reports new speech a few hundred ms late: only this much audio after the
# last word, with no partial open, is taken for a pause.
PAUSE_AFTER_LAST_WORD_S = 1.0


@dataclass
class _SpeechTrack:
    """What the results tell of where speech is: open partials and the last word's end."""

    open_ids: set[str] = field(default_factory=set)
    last_word_end_s: float = 0.0

    def saw(self, result: StreamResult) -> None:
        if result.is_partial:
            self.open_ids.add(result.result_id)
        else:
            self.open_ids.discard(result.result_id)
        if result.words:
            self.last_word_end_s = max(self.last_word_end_s, result.words[-1].end_s)

    def at_pause(self, sent_s: float) -> bool:
        return not self.open_ids and sent_s - self.last_word_end_s >= PAUSE_AFTER_LAST_WORD_S


class AwsRecognitionStream:
    """One open Transcribe stream (see the module's docstring). Created by
    `AwsRecognizer.start` (aws_recognizer.py) on the loop thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sdk_stream: Any, output_stream: Any) -> None:
        self._loop = loop
        self._sdk = sdk_stream
        self._output = output_stream
        self._pending = bytearray()  # less than one audio event, waiting for more
        self._closed = False
        self._lock = threading.Lock()  # guards _results and _failure across the two threads
        self._results: list[StreamResult] = []
        self._failure: StreamFailed | None = None
        self._ending = False  # loop thread only: the input has been ended on purpose
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()  # None: end of input
        self._tasks: list[asyncio.Task[None]] = []
        self._sent_bytes = 0  # the worker's thread only
        self._speech = _SpeechTrack()  # under _lock
        self._loudness = TailLoudness()  # the worker's thread only

    def begin(self) -> None:
        """Starts the sender and the reader; on the loop thread."""
        self._tasks = [
            asyncio.create_task(self._guarded(self._send_audio, "send")),
            asyncio.create_task(self._guarded(self._read_results, "receive")),
        ]

    # --- the port, called from the worker's thread --------------------------------------

    def send(self, pcm: bytes) -> None:
        if self._closed:
            raise RuntimeError("the stream is closed")
        self._raise_if_failed()
        self._pending += pcm
        self._loudness.feed(pcm)
        whole = len(self._pending) - len(self._pending) % AUDIO_EVENT_BYTES
        if not whole:
            return
        step = AUDIO_EVENT_BYTES
        events = [bytes(self._pending[at : at + step]) for at in range(0, whole, step)]
        del self._pending[:whole]
        self._sent_bytes += whole
        # call_soon_threadsafe runs callbacks in the order they were scheduled: audio stays in order.
        self._loop.call_soon_threadsafe(self._enqueue, events)

    def results(self) -> list[StreamResult]:
        self._raise_if_failed()
        return self._take()

    def at_pause(self) -> bool:
        """The results say no speech is open and none came for a while, and the audio
        itself ends quiet (the results are a second behind the words: see loudness.py)."""
        if not self._loudness.ends_quiet():
            return False
        with self._lock:
            return self._speech.at_pause(self._sent_bytes / (AUDIO_EVENT_BYTES * 10))

    def close(self, timeout_s: float) -> list[StreamResult]:
        """A failure or a timeout while closing is logged, not raised: the stream is
        over either way, and the results that did arrive are returned."""
        if self._closed:
            return self._take()
        self._closed = True
        tail = bytes(self._pending)  # a last, shorter event: padding would be heard as silence
        self._pending.clear()
        self._loop.call_soon_threadsafe(self._end_input, tail)
        try:
            run_on(self._loop, self._wait_for_tasks(), timeout_s)
        except TimeoutError:
            logger.warning("transcribe stream: no end of results after %.1f s, cancelled", timeout_s)
            self._loop.call_soon_threadsafe(self._cancel_tasks)
            # Fire and forget: the worker does not wait for a stream it gave up on.
            asyncio.run_coroutine_threadsafe(self._release(), self._loop)
        with self._lock:
            failure = self._failure
        if failure is not None:
            logger.warning("transcribe stream closed after a failure: %s", failure)
        return self._take()

    def _raise_if_failed(self) -> None:
        with self._lock:
            failure = self._failure
        if failure is not None:
            raise StreamFailed(str(failure), failure.retryable) from failure.__cause__

    def _take(self) -> list[StreamResult]:
        with self._lock:
            taken, self._results = self._results, []
        return taken

    # --- on the loop thread ---------------------------------------------------------------

    def _enqueue(self, events: list[bytes]) -> None:
        for event in events:
            self._queue.put_nowait(event)

    def _end_input(self, tail: bytes) -> None:
        self._ending = True
        if tail:  # never an empty event: Transcribe reads an empty audio event as the end
            self._queue.put_nowait(tail)
        self._queue.put_nowait(None)

    async def _send_audio(self) -> None:
        while (chunk := await self._queue.get()) is not None:
            await self._sdk.input_stream.send(AudioStreamAudioEvent(value=AudioEvent(audio_chunk=chunk)))
        # Sends the signed empty frame that ends the input; the output goes on to the last final.
        await self._sdk.input_stream.close()

    async def _read_results(self) -> None:
        # Exception events (BadRequest, LimitExceeded, ...) are raised by the iteration.
        async for event in self._output:
            if isinstance(event, TranscriptResultStreamTranscriptEvent):
                transcript = event.value.transcript
                converted = [
                    from_sdk_result(result) for result in (transcript.results if transcript else None) or []
                ]
                with self._lock:
                    self._results.extend(converted)
                    for result in converted:
                        self._speech.saw(result)
        if not self._ending:
            # Audio sent from now on would be lost without a word: make the worker open a new stream.
            raise ConnectionError("the service ended the stream before its input was ended")

    async def _guarded(self, work: Callable[[], Coroutine[Any, Any, None]], during: str) -> None:
        try:
            await work()
        except Exception as error:
            failure = stream_failed(error, during)
            failure.__cause__ = error
            logger.warning("transcribe stream failed: %s", failure)
            with self._lock:
                self._failure = self._failure or failure
            # The stream is dead: stop the other task rather than let it wait forever.
            self._cancel_tasks()

    def _cancel_tasks(self) -> None:
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def _wait_for_tasks(self) -> None:
        await asyncio.wait(self._tasks)
        await self._release()

    async def _release(self) -> None:
        """Ends the HTTP/2 stream on our side, so that a stream given up on does not stay
        open on the client's pooled connection. The input is closed after a failure
        too: awscrt's task that writes the request body waits on it, and would be left
        pending (and later destroyed with an error) otherwise; writing the end into a
        stream the service already ended fails, quietly."""
        await close_quietly(self._sdk)
        try:
            await self._output.close()
        except Exception as error:
            logger.debug("closing a transcribe output stream: %s", error)
