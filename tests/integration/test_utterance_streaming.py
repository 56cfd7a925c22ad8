"""Utterance streaming on the local stack: the 79 s keynote capture goes through one
recognition stream at a time, handed over every few seconds (WORKER_HANDOVER_SECONDS
is 4 in the tests' stack), and comes out as utterances cut at pauses."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import numpy as np
import pytest

from local.kit.captures import capture
from local.kit.client import ProtocolClient, speaker_session, ws_url
from local.kit.wer import word_error_rate

CAPTURE = capture("en-keynote")
# Source WER of the same capture through fixed 3 s batches (docs/BENCHMARKS.md): the
# utterance path must not be worse.
BATCH_WER = 0.25


@pytest.fixture(scope="module")
def keynote(local_stack):
    async def run() -> dict:
        async with aiohttp.ClientSession() as http:
            speaker, session_id = await speaker_session(http, local_stack, title="Keynote")
            listener = await ProtocolClient.connect(
                http, ws_url(local_stack), sessionId=session_id, language="es"
            )
            await speaker.wait_for("listenerStats", total=1)
            await speaker.stream_capture(session_id, CAPTURE)
            await speaker.send({"action": "endSession", "sessionId": session_id})
            await listener.wait_for("sessionEnded", timeout=30)
            await speaker.wait_until_quiet(quiet=20, timeout=240)
            async with http.get(f"{local_stack}/dev/sessions/{session_id}/worker") as response:
                worker = await response.json()
            for client in (speaker, listener):
                await client.close()
            return {"speaker": speaker, "listener": listener, "worker": worker}

    return asyncio.run(run())


def test_the_talk_crossed_handovers_and_its_worker_finished(keynote):
    assert keynote["worker"]["generation"] >= 2, keynote["worker"]
    assert keynote["worker"]["done"] == 1


def test_every_utterance_reaches_the_speaker_and_the_listener_once_in_order(keynote):
    transcripts = keynote["speaker"].of_type("transcript")
    indexes = [t["index"] for t in transcripts]
    assert sorted(indexes) == list(range(len(indexes)))  # from 0, none twice, none lost
    clips = keynote["listener"].of_type("translatedAudio")
    assert sorted(m["index"] for m in clips) == sorted(indexes)


def test_source_wer_is_not_worse_than_with_fixed_batches(keynote):
    transcripts = sorted(keynote["speaker"].of_type("transcript"), key=lambda t: t["index"])
    heard = " ".join(t["text"] for t in transcripts)
    wer = word_error_rate(CAPTURE.script(), heard)
    assert wer <= BATCH_WER, (wer, heard)


def test_every_cut_between_utterances_falls_in_a_pause(keynote):
    """No word is split: the audio between one utterance's end and the next one's start
    is far quieter than the speech around it."""
    pcm = np.frombuffer(CAPTURE.pcm, dtype=np.int16)
    audio = pcm.astype(float)

    def rms_db(start_ms: int, end_ms: int) -> float:
        piece = audio[start_ms * 16 : max(end_ms, start_ms + 1) * 16]
        return 10 * np.log10(max(float(np.mean(piece**2)), 1e-9))

    spans = sorted(
        (t["startMs"], t["startMs"] + t["durationMs"]) for t in keynote["speaker"].of_type("transcript")
    )
    speech = np.median([rms_db(start, end) for start, end in spans])
    for (_, end), (start, _) in itertools.pairwise(spans):
        middle = (end + start) // 2
        quiet = rms_db(middle - 50, middle + 50)
        assert quiet <= speech - 15, (end, start, quiet, speech)
