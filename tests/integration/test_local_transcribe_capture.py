"""The worker's production recognizer (aws_recognizer.py, built by wiring.build_recognizer
from AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING and AWS_CA_BUNDLE) through the real
aws-sdk-transcribe-streaming SDK against the local endpoint with Whisper, fed a real browser
capture; the worker's utterance cutter cuts what comes back. Whisper makes each
partial, so this takes a while (a few tens of seconds on 2 busy cores)."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator

import pytest
from aws_sdk_transcribe_streaming.models import StartStreamTranscriptionInput

from local.endpoints.transcribe_streaming import EndpointSettings, TranscribeStreamingEndpoint
from local.kit.captures import capture
from local.kit.wer import word_error_rate
from s3_audio_consumer.transcribe_sdk import transcribe_client
from s3_audio_consumer.utterances import (
    CLAUSE_ENDS,
    MAX_UTTERANCE_MS,
    SHORTEST_CLAUSE_MS,
    StreamResult,
    Utterance,
    UtteranceCutter,
)
from s3_audio_consumer.wiring import WorkerConfig, build_recognizer
from shared.languages import LANGUAGES

pytestmark = pytest.mark.integration

CAPTURE = capture("en-welcome")
# Held out from tuning the cutter: an AWS-style talk of 79 s whose sentences run long.
KEYNOTE = capture("en-keynote")
CLOSE_WAIT_S = 300.0  # every partial is a Whisper run: a bound, never a speed requirement
# Whisper base on a 14 s talk: "5" for "five" and the odd word; a fifth of the words
# wrong would mean the results or the cutting lost speech.
MAX_WER = 0.2


@pytest.fixture(scope="module")
def endpoint() -> Iterator[TranscribeStreamingEndpoint]:
    # Partials on the audio's clock: the same results however loaded the machine is.
    settings = EndpointSettings(partial_clock="audio", partial_interval_s=1.0)
    running = TranscribeStreamingEndpoint(settings).start(warm_up=True)
    try:
        yield running
    finally:
        running.stop()


def recognize(endpoint: TranscribeStreamingEndpoint, pcm: bytes) -> list[StreamResult]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "CHUNK_BUCKET": "chunks",
            "SESSIONS_TABLE": "sessions",
            "AUDIO_PROCESSOR_FUNCTION": "processor",
            "UNDELIVERED_QUEUE_URL": "https://queue",
            "AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING": endpoint.base_url,
            "AWS_CA_BUNDLE": endpoint.ca_file,
        }.items():
            env.setenv(name, value)
        recognizer = build_recognizer(WorkerConfig.from_env())
    stream = recognizer.start(LANGUAGES["en"], 16000)
    stream.send(pcm)
    return stream.close(CLOSE_WAIT_S)


@pytest.fixture(scope="module")
def results(endpoint: TranscribeStreamingEndpoint) -> list[StreamResult]:
    return recognize(endpoint, CAPTURE.pcm)


@pytest.fixture(scope="module")
def keynote_cuts(endpoint: TranscribeStreamingEndpoint) -> list[tuple[Utterance, bool]]:
    """The keynote's utterances as the worker cuts them, each with whether it was cut
    from a partial (a long sentence, before its pause) or ended by a final (the pause)."""
    cutter = UtteranceCutter()
    cuts: list[tuple[Utterance, bool]] = []
    for result in recognize(endpoint, KEYNOTE.pcm):
        cuts += [(utterance, result.is_partial) for utterance in cutter.feed(result)]
    return cuts + [(utterance, False) for utterance in cutter.flush()]


def test_partials_carry_stable_words_and_finals_come_at_the_pauses(results: list[StreamResult]) -> None:
    partials = [r for r in results if r.is_partial]
    finals = [r for r in results if not r.is_partial]
    sentences = len(re.findall(r"[.!?](?:\s|$)", CAPTURE.script()))
    assert len(finals) >= sentences
    assert any(w.stable for r in partials for w in r.words)
    assert any(not w.stable for r in partials for w in r.words)
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(finals))


def test_a_stable_word_never_changes(results: list[StreamResult]) -> None:
    stable: dict[str, dict[int, tuple[str, float]]] = {}
    for result in results:
        seen = stable.setdefault(result.result_id, {})
        for position, (content, start) in seen.items():
            word = result.words[position]
            assert (word.content, word.start_s) == (content, start)
        if result.is_partial:
            seen.update({n: (w.content, w.start_s) for n, w in enumerate(result.words) if w.stable})


def test_the_worker_cuts_the_script_into_utterances(results: list[StreamResult]) -> None:
    cutter = UtteranceCutter()
    utterances: list[Utterance] = []
    for result in results:
        utterances += cutter.feed(result)
    utterances += cutter.flush()
    script = CAPTURE.script()
    sentences = len(re.findall(r"[.!?](?:\s|$)", script))
    assert len(utterances) >= sentences
    assert [u.index for u in utterances] == list(range(len(utterances)))
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(utterances))
    assert word_error_rate(script, " ".join(u.text for u in utterances)) <= MAX_WER


def test_the_sdk_refuses_the_endpoint_without_its_ca(endpoint: TranscribeStreamingEndpoint) -> None:
    """TLS is verified: the CA file is what makes the local certificate trusted. Slow on
    purpose: s2n waits 10-30 s after a failed handshake (its blinding delay)."""
    client = transcribe_client("us-east-1", endpoint.base_url)
    request = StartStreamTranscriptionInput(
        language_code="en-US", media_sample_rate_hertz=16000, media_encoding="pcm"
    )

    async def start() -> None:
        stream = await client.start_stream_transcription(input=request)
        await stream.await_output()

    with pytest.raises(Exception, match="TLS"):
        asyncio.run(start())


def test_held_out_talk_utterances_end_at_pauses_or_at_a_stable_clause_end(
    keynote_cuts: list[tuple[Utterance, bool]],
) -> None:
    """On partial results the cutter ends an utterance at the pause (the final) or, for a
    sentence that runs on, after a stable clause mark (once it has run MIN_CLAUSE_MS, or
    of SHORTEST_CLAUSE_MS at least when it would pass MAX_UTTERANCE_MS), and cuts at a
    word only when no clause mark came in time: what the worker does with Transcribe."""
    utterances = [utterance for utterance, _ in keynote_cuts]
    early = [utterance for utterance, from_partial in keynote_cuts if from_partial]
    assert [u.index for u in utterances] == list(range(len(utterances)))
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(utterances))
    clause_cuts = [u for u in early if u.text[-1] in CLAUSE_ENDS]
    assert clause_cuts, "no sentence of the keynote ran long enough to be cut before its pause"
    for utterance in clause_cuts:
        assert SHORTEST_CLAUSE_MS <= utterance.duration_ms <= MAX_UTTERANCE_MS, utterance
    # Without a stable clause mark in time, the cut is forced at the last stable word: only
    # when the running speech would otherwise pass MAX_UTTERANCE_MS.
    following = {u.index: b for u, b in itertools.pairwise(utterances)}
    for utterance in (u for u in early if u not in clause_cuts):
        assert following[utterance.index].end_ms - utterance.start_ms > MAX_UTTERANCE_MS, utterance
    assert len(early) < len(utterances) / 2  # most utterances still end at pauses
    assert word_error_rate(KEYNOTE.script(), " ".join(u.text for u in utterances)) <= MAX_WER
