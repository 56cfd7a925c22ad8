"""Posts one message to thousands of WebSocket connections within a second.

A `postToConnection` is ~40 ms on AWS, and boto3 spends ~1.5 ms of CPU on each call
(measured: bench/fanout_sim.py). 5,000 listeners through boto3 threads would take
seconds of CPU alone. So a page of listeners is posted by an asyncio HTTP client with
hundreds of requests in flight on kept-alive connections, each request signed with
the day's cached signing key and the page's body hashed once (delivery/sigv4.py). A session larger
than one page is split, and the pages beyond the first are posted by parallel
invocations of the fan-out function, each with its own CPU (`PagedFanout`).
Decision and figures: docs/ARCHITECTURE.md, "Delivery to 5,000 listeners"."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import boto3
from pydantic import BaseModel, ConfigDict, Field

from delivery.sigv4 import Credentials, PageSigner
from deployment import env_names
from deployment.config import env_int, env_str

logger = logging.getLogger(__name__)

GONE = 410
RETRY_DELAY_SECONDS = 0.1  # one retry of a throttled (429) or failed post, with jitter


def encode(message: dict[str, Any]) -> bytes:
    """The bytes every connection receives (the same as Notifier sends)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class FanoutResult:
    """What one page (or several, merged) of posts came to."""

    delivered: int = 0
    gone: list[str] = field(default_factory=list)
    failed: int = 0  # neither delivered nor gone after a retry: the listener is kept
    peak_in_flight: int = 0
    pages: int = 0

    def merge(self, other: FanoutResult) -> None:
        self.delivered += other.delivered
        self.gone.extend(other.gone)
        self.failed += other.failed
        self.peak_in_flight += other.peak_in_flight  # pages run at the same time
        self.pages += other.pages

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "gone": self.gone,
            "failed": self.failed,
            "peakInFlight": self.peak_in_flight,
            "pages": self.pages,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FanoutResult:
        return cls(
            delivered=int(raw.get("delivered", 0)),
            gone=[str(c) for c in raw.get("gone", [])],
            failed=int(raw.get("failed", 0)),
            peak_in_flight=int(raw.get("peakInFlight", 0)),
            pages=int(raw.get("pages", 1)),
        )


@dataclass(frozen=True)
class Page:
    """One message and the connections it goes to."""

    data: bytes
    connection_ids: tuple[str, ...]


class _InFlight:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def __enter__(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        self.now -= 1


class SignedPoster:
    """Posts pages to `endpoint`/@connections/{id} with `in_flight` requests at a time.

    One event loop thread and one HTTP session live as long as the container, so the
    kept-alive connections (and their TLS handshakes) serve every clip, not just one.
    `credentials` returns botocore credentials (refreshed by the SDK when they rotate)."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        credentials: Callable[[], Any],
        *,
        in_flight: int = 250,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._region = region
        self._credentials = credentials
        self._in_flight = in_flight
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None
        self._start = threading.Lock()

    def post(self, page: Page) -> FanoutResult:
        """Blocks until every connection of the page was answered."""
        loop = self._ensure_loop()
        return asyncio.run_coroutine_threadsafe(self._post_page(page), loop).result()

    def close(self) -> None:
        if self._loop is None:
            return
        if self._session is not None:
            asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._start:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="fanout-loop", daemon=True).start()
                self._loop = loop
            return self._loop

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._in_flight, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def _post_page(self, page: Page) -> FanoutResult:
        http = self._http()
        frozen = self._credentials().get_frozen_credentials()
        credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
        signer = PageSigner.for_page(credentials, self._region, self._endpoint, page.data)
        gate = asyncio.Semaphore(self._in_flight)
        counter = _InFlight()
        result = FanoutResult(pages=1)

        async def one(connection_id: str) -> None:
            async with gate:
                outcome = await self._post_one(http, signer, connection_id, page.data, counter)
            if outcome == "delivered":
                result.delivered += 1
            elif outcome == "gone":
                result.gone.append(connection_id)
            else:
                result.failed += 1

        await asyncio.gather(*(one(c) for c in page.connection_ids))
        result.peak_in_flight = counter.peak
        return result

    async def _post_one(
        self,
        http: aiohttp.ClientSession,
        signer: PageSigner,
        connection_id: str,
        data: bytes,
        counter: _InFlight,
    ) -> str:
        # Connection ids end in "=": quoted as boto3 does, and signed as sent.
        url = f"{self._endpoint}/@connections/{quote(connection_id, safe='')}"
        path = urlsplit(url).path
        status: int | str = "?"
        for attempt in (1, 2):
            headers = signer.headers(path)  # signed again on a retry: a fresh date
            try:
                with counter:
                    async with http.post(url, data=data, headers=headers) as response:
                        await response.read()
                        status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                status = type(error).__name__
            if status == GONE:
                return "gone"
            if isinstance(status, int) and status < 300:
                return "delivered"
            if attempt == 1:
                await asyncio.sleep(RETRY_DELAY_SECONDS * (1 + random.random()))
        logger.warning("post failed", extra={"connectionId": connection_id, "status": status})
        return "failed"


def pages_of(messages: Sequence[tuple[str, dict[str, Any]]], page_size: int) -> list[Page]:
    """Groups (connection, message) pairs by message (encoded once) and splits each group
    into pages of at most `page_size` connections, in the order given."""
    groups: dict[bytes, list[str]] = {}
    encoded: dict[int, bytes] = {}
    for connection_id, message in messages:
        data = encoded.setdefault(id(message), encode(message))
        groups.setdefault(data, []).append(connection_id)
    return [
        Page(data, tuple(ids[start : start + page_size]))
        for data, ids in groups.items()
        for start in range(0, len(ids), page_size)
    ]


def rounds_of(messages: Sequence[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Round k holds each connection's k-th message: sent one round after another, pages in
    parallel within a round, a connection gets its messages in the order given."""
    rounds: list[list[tuple[str, dict[str, Any]]]] = []
    seen: dict[str, int] = {}
    for connection_id, message in messages:
        k = seen.get(connection_id, 0)
        seen[connection_id] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append((connection_id, message))
    return rounds


PageInvoker = Callable[[Page], FanoutResult]


class PagedFanout:
    """The processor's sender: the first page is posted here, every further page by a
    parallel invocation of the fan-out function (`invoke_page`), all at the same time. A
    page whose invocation fails is posted here instead: nobody misses the clip."""

    def __init__(
        self,
        poster: SignedPoster,
        invoke_page: PageInvoker | None,
        *,
        page_size: int = 1000,
        invokers: int = 16,
    ) -> None:
        self._poster = poster
        self._invoke_page = invoke_page
        self._page_size = page_size
        self._pool = ThreadPoolExecutor(max_workers=invokers, thread_name_prefix="fanout-page")

    def send_many(self, messages: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """Sends every message; returns the connection ids that are gone (410)."""
        return self.deliver(messages).gone

    def deliver(self, messages: list[tuple[str, dict[str, Any]]]) -> FanoutResult:
        result = FanoutResult()
        for round_ in rounds_of(messages):  # almost always one: a message per connection
            part = self._deliver_pages(pages_of(round_, self._page_size))
            peak = max(result.peak_in_flight, part.peak_in_flight)  # rounds run one after another
            result.merge(part)
            result.peak_in_flight = peak
        return result

    def _deliver_pages(self, pages: list[Page]) -> FanoutResult:
        result = FanoutResult()
        if not pages:
            return result
        here, *remote = pages
        # Without a fan-out function (tests, small deployments) every page is posted here.
        post_remote = self._remote if self._invoke_page is not None else self._poster.post
        futures = [self._pool.submit(post_remote, page) for page in remote]
        result.merge(self._poster.post(here))
        for future in futures:
            result.merge(future.result())
        return result

    def _remote(self, page: Page) -> FanoutResult:
        assert self._invoke_page is not None
        try:
            return self._invoke_page(page)
        except Exception:
            logger.exception("fan-out invocation failed; posting the page from here")
            return self._poster.post(page)


class FewOrMany:
    """A few messages one boto3 call each (`few`: delivery.notifier.Notifier); a broadcast
    to more than `threshold` connections (a pause, an end, to every listener) through the
    paged fan-out (`many`), so that 5,000 listeners hear of it within a second or so."""

    def __init__(self, few: Any, many: Any, threshold: int = 100) -> None:
        self._few = few
        self._many = many
        self._threshold = threshold

    def send_many(self, messages: list[tuple[str, dict[str, Any]]]) -> list[str]:
        sender = self._many if len(messages) > self._threshold else self._few
        return list(sender.send_many(messages))


def page_event(page: Page) -> dict[str, Any]:
    """The fan-out function's event: the message as JSON text, and its connections."""
    return {"message": page.data.decode(), "connectionIds": list(page.connection_ids)}


MAX_PAGE = 5000  # an invocation's payload stays far below Lambda's 6 MB


class PageRequest(BaseModel):
    """The fan-out function's event, as `page_event` writes it."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    message: str = Field(min_length=2, max_length=128 * 1024)  # API Gateway's frame limit
    connection_ids: list[str] = Field(alias="connectionIds", min_length=1, max_length=MAX_PAGE)


def post_page(poster: SignedPoster, request: PageRequest) -> dict[str, Any]:
    """What the fan-out function does with its event: {delivered, gone, failed, ...}."""
    json.loads(request.message)  # a page is one JSON message; a broken one is refused whole
    result = poster.post(Page(request.message.encode(), tuple(request.connection_ids)))
    return result.as_dict()


class LambdaPageInvoker:
    """Posts a page through a synchronous invocation of the fan-out function."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._client = lambda_client
        self._function = function_name

    def __call__(self, page: Page) -> FanoutResult:
        response = self._client.invoke(
            FunctionName=self._function,
            InvocationType="RequestResponse",
            Payload=json.dumps(page_event(page)).encode(),
        )
        body = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError") or not isinstance(body, dict) or "delivered" not in body:
            raise RuntimeError(f"fan-out function failed: {str(body)[:200]}")
        return FanoutResult.from_dict(body)


def build_paged_fanout(
    endpoint: str,
    region: str,
    credentials: Callable[[], Any],
    lambda_client: Any | None,
    fanout_function: str | None,
    *,
    in_flight: int = 250,
    page_size: int = 1000,
) -> PagedFanout:
    """The one way a function builds its broadcast sender: pages posted here, and through
    the fan-out function when one is named (the processor, the connection handler)."""
    poster = SignedPoster(endpoint, region, credentials, in_flight=in_flight)
    pages = LambdaPageInvoker(lambda_client, fanout_function) if fanout_function and lambda_client else None
    return PagedFanout(poster, pages, page_size=page_size)


@cache
def poster_from_env() -> SignedPoster:
    """The fan-out function's poster: one event loop and HTTP session per container."""
    return SignedPoster(
        env_str(env_names.API_GATEWAY_ENDPOINT),
        env_str(env_names.AWS_REGION),
        boto3.Session().get_credentials,
        in_flight=env_int(env_names.FANOUT_IN_FLIGHT, 250),
    )
