"""Many listeners on the local stack, scaled down: the conftest's stack posts pages of
20 listeners (FANOUT_PAGE_SIZE), so 60 listeners of one language are one page from the
processor and two from fan-out invocations through the Lambda Invoke API, as on AWS."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp

from local.kit.captures import capture
from local.kit.client import ProtocolClient, speaker_session, ws_url

LISTENERS = 60  # three pages of 20


def test_every_listener_of_a_paged_fanout_gets_every_clip_exactly_once(local_stack):
    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            url = ws_url(local_stack)
            speaker, session_id = await speaker_session(http, local_stack, title="Large audience")
            listeners = await asyncio.gather(
                *(
                    ProtocolClient.connect(http, url, sessionId=session_id, language="es")
                    for _ in range(LISTENERS)
                )
            )
            # The joins come in one burst: the speaker's count arrives by the trailing timer.
            await speaker.wait_for("listenerStats", total=LISTENERS, timeout=30)
            await speaker.stream_capture(session_id, capture("en-welcome"))
            await speaker.send({"action": "endSession", "sessionId": session_id})
            await listeners[0].wait_for("sessionEnded")
            await listeners[0].wait_for("translatedAudio", count=3, timeout=150)
            await asyncio.gather(*(client.wait_until_quiet(quiet=5, timeout=60) for client in listeners))
            reference = sorted(m["index"] for m in listeners[0].of_type("translatedAudio"))
            assert reference and reference == sorted(set(reference))
            for client in listeners:
                indexes = Counter(m["index"] for m in client.of_type("translatedAudio"))
                assert sorted(indexes) == reference  # every clip reached this listener...
                assert set(indexes.values()) == {1}  # ...once
            for client in (speaker, *listeners):
                await client.close()

    asyncio.run(run())
