"""The whole product on the local runner, driven as a browser would drive it."""

from __future__ import annotations

import asyncio
import subprocess

import aiohttp
import pytest

from local.kit.captures import capture
from local.kit.client import ProtocolClient, speaker_session, ws_url
from local.kit.wer import word_error_rate
from local.paths import ffmpeg_path

CAPTURE = capture("en-welcome")


def decoded_seconds(mp3: bytes) -> float:
    pcm = subprocess.run(
        [ffmpeg_path(), "-v", "error", "-i", "-", "-f", "s16le", "-ac", "1", "-ar", "16000", "-"],
        input=mp3, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return len(pcm) / 32000


@pytest.fixture(scope="module")
def broadcast(local_stack):
    """One session: a speaker streams the capture; listeners in Spanish and French."""

    async def run() -> dict:
        async with aiohttp.ClientSession() as http:
            url = ws_url(local_stack)
            speaker, session_id = await speaker_session(http, local_stack, title="Integration")

            spanish = await ProtocolClient.connect(http, url)
            await spanish.send({"action": "joinSession", "sessionId": session_id, "targetLanguage": "es"})
            await spanish.wait_for("sessionJoined")
            french = await ProtocolClient.connect(http, url, sessionId=session_id, language="fr")
            await speaker.wait_for("listenerStats", total=2)

            await speaker.stream_capture(session_id, CAPTURE)
            await speaker.send({"action": "endSession", "sessionId": session_id})
            await spanish.wait_for("sessionEnded")
            # The flush after the end marker carries the last words.
            await spanish.wait_for("translatedAudio", count=4, timeout=150)
            await asyncio.sleep(4)
            clips = {}
            for message in spanish.of_type("translatedAudio") + french.of_type("translatedAudio"):
                async with http.get(message["url"]) as response:
                    assert response.status == 200, message["url"]
                    assert response.headers["Content-Type"] == "audio/mpeg"
                    clips[(message["language"], message["index"])] = await response.read()
            for client in (speaker, spanish, french):
                await client.close()
            return {"session": session_id, "speaker": speaker, "es": spanish, "fr": french, "clips": clips}

    return asyncio.run(run())


def test_listeners_get_clips_in_index_order_with_real_mp3s(broadcast):
    for language in ("es", "fr"):
        # Utterances are processed in parallel, so messages may arrive out of order
        # (docs/PROTOCOL.md): in index order they are contiguous and follow the talk.
        messages = sorted(broadcast[language].of_type("translatedAudio"), key=lambda m: m["index"])
        indices = [m["index"] for m in messages]
        assert len(indices) >= 4, indices
        assert indices == list(range(len(indices))), indices  # from 0, none lost, none twice
        starts = [m["startMs"] for m in messages]
        assert starts == sorted(starts)
        for message in messages:
            assert message["sessionId"] == broadcast["session"] and message["language"] == language
            assert message["text"] and message["sourceText"]
            assert message["durationMs"] > 0 and message["startMs"] >= 0
            assert 0.3 < decoded_seconds(broadcast["clips"][(language, message["index"])]) < 15


def test_each_caption_comes_before_its_voice_once_per_index_and_language(broadcast):
    for language in ("es", "fr"):
        kinds = ("translatedText", "translatedAudio")
        speech = [m for m in broadcast[language].received if m.get("type") in kinds]
        seen: dict[int, list[str]] = {}
        for message in speech:
            seen.setdefault(message["index"], []).append(message["type"])
        assert seen, language
        assert all(types == ["translatedText", "translatedAudio"] for types in seen.values()), seen
        captions = {m["index"]: m for m in speech if m["type"] == "translatedText"}
        for voice in (m for m in speech if m["type"] == "translatedAudio"):
            caption = captions[voice["index"]]
            shared = {key: voice[key] for key in caption if key != "type"}
            assert shared == {key: value for key, value in caption.items() if key != "type"}


def test_speaker_transcript_matches_the_script(broadcast):
    transcripts = broadcast["speaker"].of_type("transcript")
    heard = " ".join(t["text"] for t in sorted(transcripts, key=lambda t: t["index"]))
    script = CAPTURE.script()
    assert word_error_rate(script, heard) <= 0.35, heard


def test_spanish_captions_match_the_translated_script(broadcast):
    # In index order, as the protocol says to play them: utterances may arrive out of order.
    clips = sorted(broadcast["es"].of_type("translatedAudio"), key=lambda m: m["index"])
    captions = " ".join(m["text"] for m in clips)
    reference = CAPTURE.script("es")
    assert word_error_rate(reference, captions) <= 0.5, captions


def test_french_captions_are_french(broadcast):
    captions = " ".join(m["text"] for m in broadcast["fr"].of_type("translatedAudio")).lower()
    assert any(word in captions.split() for word in ("bonjour", "conférence", "bienvenu", "aujourd'hui")), (
        captions
    )


def test_bad_messages_get_errors_and_the_connection_keeps_working(local_stack):
    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            url = ws_url(local_stack)
            listener = await ProtocolClient.connect(http, url)
            await listener.send("this is not json")
            await listener.send({"action": "launchRockets"})
            unknown = "steady-river-9999"
            await listener.send({"action": "joinSession", "sessionId": unknown, "targetLanguage": "es"})
            await listener.send({"action": "audioChunk", "sessionId": unknown, "seq": 0, "data": "AA=="})
            await listener.send("[" * 20_000)
            errors = await listener.wait_for("error", count=5)
            # Messages are handled concurrently, as on API Gateway: replies come in any order.
            assert sorted(e["code"] for e in errors) == [
                "FORBIDDEN", "INVALID_JSON", "INVALID_MESSAGE", "SESSION_NOT_FOUND", "UNKNOWN_ACTION",
            ]  # fmt: skip
            await listener.send({"action": "heartbeat"})
            assert (await listener.wait_for("heartbeat"))[0]["serverTime"] > 0
            await listener.close()

    asyncio.run(run())


def test_a_language_the_local_engines_cannot_serve_is_refused_at_join(local_stack):
    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            url = ws_url(local_stack)
            speaker, session_id = await speaker_session(http, local_stack)
            listener = await ProtocolClient.connect(http, url)
            await listener.send({"action": "joinSession", "sessionId": session_id, "targetLanguage": "de"})
            (error,) = await listener.wait_for("error")
            assert error["code"] == "UNSUPPORTED_LANGUAGE" and "en into de" in error["message"]
            for client in (speaker, listener):
                await client.close()

    asyncio.run(run())


def test_a_listener_that_vanishes_is_cleaned_up(local_stack):
    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            url = ws_url(local_stack)
            speaker, session_id = await speaker_session(http, local_stack)
            stays = await ProtocolClient.connect(http, url, sessionId=session_id, language="es")
            leaves = await ProtocolClient.connect(http, url, sessionId=session_id, language="es")
            await speaker.wait_for("listenerStats", total=2)
            leaves.ws._response.connection.transport.abort()  # no close frame: the network just drops
            (stats,) = await speaker.wait_for("listenerStats", total=1)
            assert stats["listeners"] == {"es": 1}
            for client in (speaker, stays):
                await client.close()

    asyncio.run(run())


def test_speakers_need_a_valid_token(local_stack):
    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(ws_url(local_stack), params={"token": "not-a-jwt"})
            assert refused.value.status == 403

    asyncio.run(run())


def test_the_gateway_speaks_api_gateway_to_boto3_and_to_oversized_frames(local_stack):
    """The management API as boto3's client calls it, and API Gateway's 32 KB frame limit."""
    import boto3
    from botocore.exceptions import ClientError

    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{local_stack}/local",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            speaker, session_id = await speaker_session(http, local_stack)
            listener = await ProtocolClient.connect(
                http, ws_url(local_stack), sessionId=session_id, language="es"
            )
            await speaker.wait_for("listenerStats", total=1)
            (connection_id,) = await listener_connection_ids(http, local_stack)
            info = await asyncio.to_thread(management.get_connection, ConnectionId=connection_id)
            assert info["Identity"]["SourceIp"] == "127.0.0.1"
            await asyncio.to_thread(
                management.post_to_connection, ConnectionId=connection_id, Data=b'{"type":"hello"}'
            )
            await listener.wait_for("hello")
            await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
            await speaker.wait_for("listenerStats", total=0)  # the deletion ran $disconnect
            with pytest.raises(ClientError) as gone:
                await asyncio.to_thread(management.post_to_connection, ConnectionId=connection_id, Data=b"{}")
            assert gone.value.response["Error"]["Code"] == "GoneException"

            oversized = await ProtocolClient.connect(http, ws_url(local_stack))
            await oversized.send("x" * (32 * 1024 + 1))
            await asyncio.sleep(0.5)
            assert oversized.ws.closed and oversized.ws.close_code == 1009
            await speaker.close()

    asyncio.run(run())


async def listener_connection_ids(http: aiohttp.ClientSession, base: str) -> list[str]:
    async with http.get(f"{base}/dev/connections") as response:
        return [c["connectionId"] for c in await response.json() if c["role"] == "listener"]


def test_healthz_lists_the_local_translate_and_polly_endpoints_and_they_answer_boto3(local_stack):
    """The endpoints the audio processor's production adapters use (SPEECH_ENGINES=aws, the default)."""
    import json
    import urllib.request

    import boto3

    with urllib.request.urlopen(f"{local_stack}/healthz", timeout=10) as response:
        endpoints = json.load(response)["endpoints"]
    credentials = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    translate = boto3.client("translate", endpoint_url=endpoints["translate"], **credentials)
    polly = boto3.client("polly", endpoint_url=endpoints["polly"], **credentials)

    translated = translate.translate_text(Text="Thank you.", SourceLanguageCode="en", TargetLanguageCode="es")
    speech = polly.synthesize_speech(
        Text=translated["TranslatedText"], VoiceId="Lucia", Engine="neural", OutputFormat="mp3"
    )

    assert translated["TranslatedText"] != "Thank you."
    assert decoded_seconds(speech["AudioStream"].read()) > 0.3
