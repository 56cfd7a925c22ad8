"""Private talks stay private, and no one can flood or lock out a venue (issue 23), end to
end on the local stack: through the gateway, the $connect authorizer, the connection
handler and the transcripts function. Every local socket comes from 127.0.0.1, so all the
listeners here share one source address, as a venue behind one public address does."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp

from local.kit.captures import capture
from local.kit.client import ProtocolClient, speaker_session, ws_url
from local.resources import LocalNames
from shared import resources

UNKNOWN = "steady-river-9999"  # well formed, names no session
LISTENERS = 10  # connections asking for the transcript
PER_CONNECTION = 6  # getTranscript per connection per minute (docs/PROTOCOL.md, Limits)
MISSES_PER_CONNECTION = 10  # misses per connection per minute (docs/PROTOCOL.md, Limits)


async def ask(client: ProtocolClient, message: dict[str, Any], *types: str, timeout: float = 30) -> dict:
    """Sends one message and returns the first message of one of `types` that came after it."""
    start = len(client.received)
    await client.send(message)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for answer in client.received[start:]:
            if answer.get("type") in types:
                return answer
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {types} for {message}; got {client.received[start:]}")
        await asyncio.sleep(0.05)


async def stats_after(speaker: ProtocolClient, start: int, timeout: float = 15, **expected: Any) -> dict:
    """The first listenerStats after the speaker's `start`th message with these fields."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in speaker.received[start:]:
            if message.get("type") == "listenerStats" and all(
                message.get(k) == v for k, v in expected.items()
            ):
                return message
        if asyncio.get_running_loop().time() > deadline:
            seen = [m for m in speaker.received[start:] if m.get("type") == "listenerStats"]
            raise AssertionError(f"no listenerStats with {expected}; got {seen}")
        await asyncio.sleep(0.05)


async def join(client: ProtocolClient, session_id: str, language: str = "es", token: str = "") -> dict:
    message = {"action": "joinSession", "sessionId": session_id, "targetLanguage": language}
    if token:
        message["rejoinToken"] = token
    return await ask(client, message, "sessionJoined", "error")


def transcript_answers(listener: ProtocolClient) -> list[dict[str, Any]]:
    """What a listener was answered to getTranscript (not a clip's TRANSLATION_UNAVAILABLE)."""
    return [
        m
        for m in listener.received
        if m.get("type") == "transcriptReady"
        or (m.get("type") == "error" and m.get("action") == "getTranscript")
    ]


async def signed_in_speaker(http: aiohttp.ClientSession, base: str, email: str) -> ProtocolClient:
    async with http.get(f"{base}/dev/token", params={"email": email}) as response:
        token = str((await response.json())["idToken"])
    return await ProtocolClient.connect(http, ws_url(base), token=token)


async def open_listener_count(http: aiohttp.ClientSession, base: str) -> int:
    async with http.get(f"{base}/dev/connections") as response:
        return sum(1 for c in await response.json() if c["role"] == "listener")


def test_a_session_a_caller_may_not_use_answers_exactly_like_an_unknown_one(local_stack):
    """getTranscript of another session, of another speaker's session and of an unknown code,
    and joinSession of an unknown code, all get the one SESSION_NOT_FOUND answer (only the
    code asked for differs), and the connection keeps working."""

    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            url = ws_url(local_stack)
            speaker, talk = await speaker_session(http, local_stack, title="Private")
            other = await signed_in_speaker(http, local_stack, "other-speaker@local.test")
            other_talk = (
                await ask(other, {"action": "createSession", "sourceLanguage": "en"}, "sessionCreated")
            )["sessionId"]
            joined = await ProtocolClient.connect(http, url)  # a listener of `talk`
            assert (await join(joined, talk))["type"] == "sessionJoined"
            stranger = await ProtocolClient.connect(http, url)  # a listener of nothing yet

            def get(session_id: str, language: str = "es") -> dict[str, Any]:
                return {"action": "getTranscript", "sessionId": session_id, "language": language}

            refusals = {
                "listener, unknown code": (joined, get(UNKNOWN), UNKNOWN),
                "listener, live session it did not join": (joined, get(other_talk), other_talk),
                "unseated listener, live session": (stranger, get(talk), talk),
                "join of an unknown code": (
                    stranger,
                    {"action": "joinSession", "sessionId": UNKNOWN, "targetLanguage": "es"},
                    UNKNOWN,
                ),
                "speaker, unknown code": (other, get(UNKNOWN, "en"), UNKNOWN),
                "speaker, another speaker's live session": (other, get(talk, "en"), talk),
            }
            answers = {}
            for case, (client, message, code) in refusals.items():
                error = await ask(client, message, "error", "transcriptReady", "sessionJoined")
                assert error["type"] == "error", (case, error)
                assert error["action"] == message["action"], (case, error)
                answers[case] = (error["code"], error["message"].replace(code, "<code>"))
            assert set(answers.values()) == {
                ("SESSION_NOT_FOUND", "no session '<code>' for this connection; check the code")
            }, answers

            # Each connection still works, and the sessions it may use answer otherwise.
            assert (await ask(joined, {"action": "heartbeat"}, "heartbeat", "error"))["type"] == "heartbeat"
            own = await ask(joined, get(talk), "error", "transcriptReady")
            assert own["code"] == "NO_TRANSCRIPT", own  # it reached the transcripts function
            mine = await ask(other, get(other_talk, "en"), "error", "transcriptReady")
            assert mine["code"] == "NO_TRANSCRIPT", mine
            seated = await join(stranger, other_talk)
            assert seated["type"] == "sessionJoined" and seated["sessionId"] == other_talk, seated
            for client in (speaker, other, joined, stranger):
                await client.close()

    asyncio.run(run())


def test_a_chain_of_rejoin_tokens_seats_one_listener(local_stack):
    """Join, then re-join from a second socket with the first's token, then from a third
    with the second's: the speaker counts one listener, and the sockets left behind hold
    no seat (closing them frees nobody else's)."""

    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            url = ws_url(local_stack)
            speaker, talk = await speaker_session(http, local_stack, title="Rejoins")
            sockets, tokens = [], []
            for _ in range(3):
                socket = await ProtocolClient.connect(http, url)
                joined = await join(socket, talk, token=tokens[-1] if tokens else "")
                assert joined["type"] == "sessionJoined", joined
                assert joined["rejoinToken"] and joined["rejoinToken"] not in tokens
                sockets.append(socket)
                tokens.append(joined["rejoinToken"])
            first, second, third = sockets
            for left in (first, second):  # their seat moved on
                refused = await ask(left, {"action": "switchLanguage", "targetLanguage": "fr"}, "error")
                assert refused["code"] == "NOT_JOINED", refused

            start = len(speaker.received)
            await ask(third, {"action": "switchLanguage", "targetLanguage": "fr"}, "sessionJoined")
            await stats_after(speaker, start, listeners={"fr": 1}, total=1)
            start = len(speaker.received)
            await ask(third, {"action": "switchLanguage", "targetLanguage": "es"}, "sessionJoined")
            await stats_after(speaker, start, listeners={"es": 1}, total=1)

            before = await open_listener_count(http, local_stack)
            for left in (first, second):
                await left.close()
            for _ in range(100):  # until their $disconnect ran
                if await open_listener_count(http, local_stack) <= before - 2:
                    break
                await asyncio.sleep(0.1)
            start = len(speaker.received)
            newcomer = await ProtocolClient.connect(http, url)
            assert (await join(newcomer, talk))["type"] == "sessionJoined"
            await stats_after(speaker, start, listeners={"es": 2}, total=2)
            for client in (speaker, third, newcomer):
                await client.close()

    asyncio.run(run())


def test_one_phone_guessing_codes_is_blocked_and_the_venue_still_gets_in(local_stack):
    """From the one address of the venue: a connection that spends its misses is blocked
    (even for a real code), yet a fresh connection joins, and a re-join with a valid token
    is honoured, on the blocked connection too."""

    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            url = ws_url(local_stack)
            speaker, talk = await speaker_session(http, local_stack, title="Venue")
            phone = await ProtocolClient.connect(http, url)
            guesses = [f"steady-river-{n:04d}" for n in range(9000, 9000 + MISSES_PER_CONNECTION)]
            for code in guesses:
                missed = await join(phone, code)
                assert missed["code"] == "SESSION_NOT_FOUND", (code, missed)
            for message in (
                {"action": "joinSession", "sessionId": "steady-river-8999", "targetLanguage": "es"},
                {"action": "joinSession", "sessionId": talk, "targetLanguage": "es"},  # a real code
                {"action": "getTranscript", "sessionId": "steady-river-8998", "language": "es"},
            ):
                blocked = await ask(phone, message, "error", "sessionJoined")
                assert blocked["type"] == "error" and blocked["code"] == "RATE_LIMITED", (message, blocked)

            neighbour = await ProtocolClient.connect(http, url)
            seated = await join(neighbour, talk)
            assert seated["type"] == "sessionJoined", seated
            async with http.get(f"{local_stack}/dev/connections") as response:
                assert {c["sourceIp"] for c in await response.json()} == {"127.0.0.1"}

            # The neighbour's Wi-Fi drops; it comes back on a new socket with its token.
            back = await ProtocolClient.connect(http, url)
            rejoined = await join(back, talk, token=seated["rejoinToken"])
            assert rejoined["type"] == "sessionJoined", rejoined
            # A blocked connection is refused a plain join, never a valid token.
            moved = await join(phone, talk, token=rejoined["rejoinToken"])
            assert moved["type"] == "sessionJoined" and moved["rejoinToken"], moved
            start = len(speaker.received)
            await ask(phone, {"action": "switchLanguage", "targetLanguage": "fr"}, "sessionJoined")
            await stats_after(speaker, start, listeners={"fr": 1}, total=1)  # one seat, moved twice
            still = await join(phone, "steady-river-8997")
            assert still["code"] == "RATE_LIMITED", still  # the token lifted no block
            for client in (speaker, phone, neighbour, back):
                await client.close()

    asyncio.run(run())


def test_a_crowd_asking_for_the_transcript_builds_it_once(local_stack):
    """LISTENERS connections each ask 7 times at once for the ended talk's transcript: each
    connection gets 6 transcripts and one RATE_LIMITED, and the transcripts function builds
    the files once, as docs/PROTOCOL.md says: a transcript built less than 30 s ago, or with
    no utterance since, is handed out again. Builds are counted as versions of the stored
    files: versioning is switched on for the translation bucket during this test (and
    suspended after it; nothing in the product reads versions)."""
    s3 = _s3(local_stack)
    bucket = LocalNames().translation_bucket

    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            url = ws_url(local_stack)
            speaker, talk = await speaker_session(http, local_stack, title="Take-home")
            listeners = [await ProtocolClient.connect(http, url) for _ in range(LISTENERS)]
            for listener in listeners:
                assert (await join(listener, talk))["type"] == "sessionJoined"
            await speaker.stream_capture(talk, capture("en-welcome"))
            await speaker.send({"action": "endSession", "sessionId": talk})
            await listeners[0].wait_for("sessionEnded")
            await listeners[0].wait_for("translatedAudio", count=2, timeout=150)
            await listeners[0].wait_until_quiet(quiet=5, timeout=60)
            await speaker.close()

            prefix = f"sessions/{talk}/transcripts/"

            async def builds() -> int:
                """Builds so far: each writes the txt, srt and vtt files once."""
                listing = await asyncio.to_thread(s3.list_object_versions, Bucket=bucket, Prefix=prefix)
                versions = listing.get("Versions", [])
                assert all(v["VersionId"] != "null" for v in versions), versions  # versioning is on
                per_file = Counter(v["Key"] for v in versions)
                assert set(per_file) <= {
                    resources.transcript_key(talk, "es", e) for e in ("txt", "srt", "vtt")
                }
                assert len(set(per_file.values())) <= 1, per_file  # every build writes all three
                return max(per_file.values(), default=0)

            request = {"action": "getTranscript", "sessionId": talk, "language": "es"}
            assert await builds() == 0
            first = await ask(listeners[0], request, "transcriptReady", "error")
            assert first["type"] == "transcriptReady" and first["utterances"] > 0, first
            assert await builds() == 1

            # The rest at once: 7 per connection, the first one's 7th included.
            await asyncio.gather(
                *(
                    listener.send(request)
                    for n, listener in enumerate(listeners)
                    for _ in range(PER_CONNECTION + 1 - (n == 0))
                )
            )
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                answers = [transcript_answers(listener) for listener in listeners]
                if all(len(a) >= PER_CONNECTION + 1 for a in answers):
                    break
                assert asyncio.get_running_loop().time() < deadline, [len(a) for a in answers]
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)  # anything more would show below
            answers = [transcript_answers(listener) for listener in listeners]
            for answered in answers:
                kinds = Counter(m["type"] if m["type"] != "error" else m["code"] for m in answered)
                assert kinds == {"transcriptReady": PER_CONNECTION, "RATE_LIMITED": 1}, answered
                (limited,) = [m for m in answered if m["type"] == "error"]
                assert "this connection" in limited["message"] and limited["action"] == "getTranscript"
            ready = [m for answered in answers for m in answered if m["type"] == "transcriptReady"]
            assert len(ready) == LISTENERS * PER_CONNECTION
            assert {m["utterances"] for m in ready} == {first["utterances"]}
            assert await builds() == 1

            async with http.get(ready[-1]["urls"]["txt"]) as response:
                assert response.status == 200
                text = await response.text()
            assert text.count("\n[00:00:") == first["utterances"], text
            for client in listeners:
                await client.close()

    versioning = {"Bucket": bucket}
    s3.put_bucket_versioning(**versioning, VersioningConfiguration={"Status": "Enabled"})
    try:
        asyncio.run(run())
    finally:
        s3.put_bucket_versioning(**versioning, VersioningConfiguration={"Status": "Suspended"})


def _s3(base: str) -> Any:
    """The stack's S3 (moto) through the gateway's /s3 proxy."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=f"{base}/s3",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(s3={"addressing_style": "path"}),
    )
