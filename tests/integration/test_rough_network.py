"""A talk over a rough network on the local stack: messages handled concurrently and
in a shuffled order (as API Gateway may), a speaker whose connection drops and comes
back, and a speaker who never comes back."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import aiohttp
import pytest

from local.kit.captures import capture
from local.kit.client import ProtocolClient, speaker_session, worker_done, ws_url
from local.kit.wer import word_error_rate
from local.process import running_local_stack
from s3_audio_consumer.wiring import AWS_RECOGNIZER

CAPTURE = capture("en-welcome")
# The production recognizer against the local endpoint (the stack's default, RECOGNIZER unset or
# "aws"): partials on the wall clock.
PARTIALS_ON_THE_WALL_CLOCK = os.environ.get("RECOGNIZER", AWS_RECOGNIZER) == AWS_RECOGNIZER
# On the wall clock the endpoint's partials hear whatever audio has arrived: when it arrives in
# bursts, a word cut off at a burst's end can be frozen as another ("for a." for "for events."
# in one CI run, 1 word of the talk's 19). Nothing may be lost or doubled; a word may differ.
WORDS_MAY_DIFFER = 0.1
GRACE_SECONDS = 6


SETTINGS = {"SPEAKER_GRACE_SECONDS": str(GRACE_SECONDS)}  # and the default 12-minute handover


@pytest.fixture(scope="module")
def shuffled_stack(tmp_path_factory: pytest.TempPathFactory):
    """A second local stack whose gateway shuffles each connection's messages in
    windows of 6 (seeded), with a short speaker grace period."""
    settings = {**SETTINGS, "LOCAL_SHUFFLE_WINDOW": "6", "LOCAL_SHUFFLE_SEED": "11"}
    log = tmp_path_factory.mktemp("shuffled") / "local.log"
    with running_local_stack(log, settings=settings) as base:
        yield base


@pytest.fixture(scope="module")
def plain_stack(tmp_path_factory: pytest.TempPathFactory):
    """The same stack without the shuffle: what the talk sounds like in order. (The shared
    stack hands its stream over every 4 s, and where a handover cuts depends on timing.)"""
    log = tmp_path_factory.mktemp("plain") / "local.log"
    with running_local_stack(log, settings=SETTINGS) as base:
        yield base


@dataclass(frozen=True)
class Heard:
    transcripts: list[str]  # what the speaker was shown, in index order
    clips: dict[int, str]  # index -> source text of each clip the listener got


async def heard(base: str, send_talk) -> Heard:  # type: ignore[no-untyped-def]
    """Runs one session with a Spanish listener, once it has ended and flushed."""
    async with aiohttp.ClientSession() as http:
        speaker, session_id = await speaker_session(http, base)
        listener = await ProtocolClient.connect(http, ws_url(base), sessionId=session_id, language="es")
        await speaker.wait_for("listenerStats", total=1)
        first = speaker
        speaker = await send_talk(http, base, speaker, session_id)
        # As the app does: the end names the last chunk, which it may overtake on the way.
        last_seq = len(CAPTURE.chunks) - 1
        await speaker.send({"action": "endSession", "sessionId": session_id, "lastSeq": last_seq})
        await listener.wait_for("sessionEnded", timeout=30)
        # The talk is flushed when the worker is done; then its utterances reach both sides
        # (a fixed quiet time was a guess: under load the last one came after it).
        emitted = (await worker_done(http, base, session_id, timeout=240))["nextIndex"]
        await listener.wait_for("translatedAudio", count=emitted, timeout=120)
        # A speaker that re-connected saw only what came after; it must still see the last.
        if speaker is first:
            await speaker.wait_for("transcript", count=emitted, timeout=120)
        else:
            await speaker.wait_for("transcript", index=emitted - 1, timeout=120)
        await speaker.wait_until_quiet(quiet=3, timeout=30)  # a duplicate would still show
        transcripts = sorted(speaker.of_type("transcript"), key=lambda t: t["index"])
        assert speaker.of_type("error") == []
        clips = {m["index"]: m["sourceText"] for m in listener.of_type("translatedAudio")}
        assert len(clips) == len(listener.of_type("translatedAudio"))  # none twice
        for client in (speaker, listener):
            await client.close()
        return Heard([t["text"] for t in transcripts], clips)


async def in_order(http, base, speaker, session_id):  # type: ignore[no-untyped-def]
    await speaker.stream_capture(session_id, CAPTURE)
    return speaker


async def in_bursts(http, base, speaker, session_id):  # type: ignore[no-untyped-def]
    """Six chunks at a time at the talk's pace, so that the gateway's windows of 6 fill and
    each is handled in a shuffled order (chunks sent at the recorded pace, ~300 ms apart,
    would each be dispatched alone)."""
    chunks = CAPTURE.chunks
    for start in range(0, len(chunks), 6):
        for seq in range(start, min(start + 6, len(chunks))):
            await speaker.send_chunk(session_id, seq, chunks[seq])
        await asyncio.sleep(6 * 0.3)
    return speaker


@pytest.fixture(scope="module")
def reference(plain_stack) -> Heard:
    return asyncio.run(heard(plain_stack, in_order))


def test_a_talk_whose_chunks_arrive_shuffled_is_heard_exactly_as_in_order(shuffled_stack, reference):
    shuffled = asyncio.run(heard(shuffled_stack, in_bursts))
    if PARTIALS_ON_THE_WALL_CLOCK:
        # The local Transcribe endpoint makes partials as its CPU allows, so where the
        # cutter cuts a long sentence may differ between two runs, and a word may too.
        heard_words = " ".join(shuffled.transcripts)
        assert word_error_rate(" ".join(reference.transcripts), heard_words) <= WORDS_MAY_DIFFER
        assert sorted(shuffled.clips) == list(range(len(shuffled.transcripts)))
        assert [shuffled.clips[k] for k in sorted(shuffled.clips)] == shuffled.transcripts
    else:
        assert shuffled == reference
    script = CAPTURE.script()
    assert word_error_rate(script, " ".join(shuffled.transcripts)) <= 0.35


def test_a_speaker_whose_connection_drops_resumes_and_nothing_is_lost(shuffled_stack, reference):
    chunks = CAPTURE.chunks
    cut = len(chunks) // 2

    async def with_a_drop(http, base, speaker, session_id):  # type: ignore[no-untyped-def]
        for seq in range(cut):
            await speaker.send_chunk(session_id, seq, chunks[seq])
            await asyncio.sleep(0.25)
        speaker.ws._response.connection.transport.abort()  # the network drops; no close frame
        await asyncio.sleep(2)
        async with http.get(f"{base}/dev/token") as response:
            token = str((await response.json())["idToken"])
        again = await ProtocolClient.connect(http, ws_url(base), token=token)
        await again.send({"action": "createSession", "sourceLanguage": "en", "resumeSessionId": session_id})
        (created,) = await again.wait_for("sessionCreated")
        assert created["resumed"] is True and created["status"] == "active"
        # What was sent into the dying socket may not have arrived: resend from lastSeq.
        for seq in range(created["lastSeq"] + 1 - 2, len(chunks)):
            await again.send_chunk(session_id, seq, chunks[seq])
            await asyncio.sleep(0.1)
        return again

    # The listener is who must lose nothing: every part of the talk reaches it once.
    dropped = asyncio.run(heard(shuffled_stack, with_a_drop))
    assert sorted(dropped.clips) == sorted(reference.clips)
    script = CAPTURE.script()
    spoken = " ".join(dropped.clips[index] for index in sorted(dropped.clips))
    assert word_error_rate(script, spoken) <= 0.35, spoken


def test_listeners_are_told_when_the_speaker_drops_and_when_the_grace_period_ends(shuffled_stack):
    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            speaker, session_id = await speaker_session(http, shuffled_stack)
            listener = await ProtocolClient.connect(
                http, ws_url(shuffled_stack), sessionId=session_id, language="fr"
            )
            await speaker.wait_for("listenerStats", total=1)
            speaker.ws._response.connection.transport.abort()
            (suspended,) = await listener.wait_for("sessionSuspended", timeout=15)
            assert suspended["reason"] == "speakerDisconnected"
            (ended,) = await listener.wait_for("sessionEnded", timeout=GRACE_SECONDS + 20)
            assert ended["reason"] == "speakerDisconnected"
            await listener.close()

    asyncio.run(run())
