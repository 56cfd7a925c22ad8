"""Utterance streaming on the local stack: the 79 s keynote capture goes through one
recognition stream at a time, handed over every few seconds (WORKER_HANDOVER_SECONDS
is 4 in the tests' stack), and comes out as utterances cut at pauses."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import numpy as np
import pytest

from bench.live_text import translated_chars
from local.kit.captures import capture
from local.kit.client import ProtocolClient, speaker_session, ws_url
from local.kit.wer import word_error_rate
from s3_audio_consumer.utterances import CLAUSE_ENDS, MAX_UTTERANCE_MS, SHORTEST_CLAUSE_MS

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


def test_every_cut_between_utterances_falls_in_a_pause_or_after_a_long_clause(keynote):
    """No word is split: the audio between one utterance's end and the next one's start
    is far quieter than the speech around it. The one exception is the cutter's own: a
    sentence held open (Transcribe's partial results, the production recognizer on the
    local endpoint) is cut after a stable clause end (of SHORTEST_CLAUSE_MS at least), or
    at a word when no clause mark came before MAX_UTTERANCE_MS; the
    endpoint spreads a result's words evenly over its speech, so such a cut is placed in
    the audio only roughly, and is told by its text: a clause mark ends it."""
    pcm = np.frombuffer(CAPTURE.pcm, dtype=np.int16)
    audio = pcm.astype(float)

    def rms_db(start_ms: int, end_ms: int) -> float:
        piece = audio[start_ms * 16 : max(end_ms, start_ms + 1) * 16]
        return 10 * np.log10(max(float(np.mean(piece**2)), 1e-9))

    transcripts = sorted(keynote["speaker"].of_type("transcript"), key=lambda t: t["startMs"])
    speech = np.median([rms_db(t["startMs"], t["startMs"] + t["durationMs"]) for t in transcripts])
    clause_cuts = []
    for before, after in itertools.pairwise(transcripts):
        end, start = before["startMs"] + before["durationMs"], after["startMs"]
        middle = (end + start) // 2
        if rms_db(middle - 50, middle + 50) <= speech - 15:
            continue
        clause_cuts.append(before["text"])
        if before["text"].rstrip()[-1] not in CLAUSE_ENDS:
            # Forced at a word: only when no clause mark came in time and the running
            # speech would have passed MAX_UTTERANCE_MS.
            running_ms = after["startMs"] + after["durationMs"] - before["startMs"]
            assert running_ms > MAX_UTTERANCE_MS, (before, after)
            continue
        assert before["durationMs"] >= SHORTEST_CLAUSE_MS, (end, start, before["text"])
    assert len(clause_cuts) <= len(transcripts) // 4, clause_cuts


def test_a_listener_sees_provisional_captions_before_the_final_and_keeps_their_words(keynote):
    """Live text (docs/ARCHITECTURE.md §15): the offline recognizer's partials, stable
    clauses translated once and posted as provisional captions of the running utterance,
    before its caption; the caption keeps every provisional word, in order."""
    received = keynote["listener"].received
    finals = {m["index"]: n for n, m in enumerate(received) if m.get("type") == "translatedText"}
    provisional = [(n, m) for n, m in enumerate(received) if m.get("type") == "provisionalCaption"]
    assert provisional, "no provisional caption for the whole keynote"
    early = [m for n, m in provisional if m["index"] in finals and n < finals[m["index"]]]
    assert early, "every provisional caption came after its caption"
    pairs = {(m["index"], m["seq"]) for _, m in provisional}
    assert len(pairs) == len(provisional), "a clause was posted twice"
    captions = {m["index"]: m["text"] for m in received if m.get("type") == "translatedText"}
    for index in {m["index"] for _, m in provisional}:
        shown = " ".join(
            m["text"] for _, m in sorted(provisional, key=lambda p: p[1]["seq"]) if m["index"] == index
        )
        words = iter(captions[index].split())
        assert all(word in words for word in shown.split()), (shown, captions[index])


def test_the_speaker_sees_the_running_words_before_their_transcript(keynote):
    received = keynote["speaker"].received
    transcripts = {m["index"]: n for n, m in enumerate(received) if m.get("type") == "transcript"}
    partials = [(n, m) for n, m in enumerate(received) if m.get("type") == "partialTranscript"]
    assert any(m["index"] in transcripts and n < transcripts[m["index"]] for n, m in partials)
    texts = {t["index"]: t["text"] for t in keynote["speaker"].of_type("transcript")}
    for _, m in partials:
        # Stable words never change: they are how the talk's transcript goes on from the
        # running index (a cut at a clause inside them moves the rest to the next index).
        following = " ".join(texts[index] for index in sorted(texts) if index >= m["index"])
        assert following.startswith(m["text"]), (m, following[: len(m["text"]) + 40])


def test_live_text_adds_under_a_quarter_to_the_translated_characters(keynote):
    """Each clause shown is translated once and reused by the caption (bench/live_text.py
    counts it by the processor's rule): the extra Translate characters of the keynote."""
    sent, talk = translated_chars(keynote["listener"].received)
    assert talk > 0
    assert (sent - talk) / talk < 0.25, (sent, talk)
