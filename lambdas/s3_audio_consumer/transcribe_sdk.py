"""Amazon Transcribe streaming's SDK (`aws-sdk-transcribe-streaming`) as the worker uses
it: the client with its region, endpoint and HTTP/2 transport (`transcribe_client`), the
process's one event loop in a daemon thread (`LOOP`, `run_on`), since the SDK is
asyncio-based while the worker is synchronous, and the mapping of the SDK's errors to the
port's `StreamFailed` (`stream_failed`). The recognizer (aws_recognizer.py) and its
stream (aws_stream.py) are built on these."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_sdk_transcribe_streaming.client import AsyncTranscribeStreamingClient
from aws_sdk_transcribe_streaming.config import AsyncTranscribeStreamingConfig
from aws_sdk_transcribe_streaming.models import BadRequestException
from awscrt import io
from smithy_aws_core.config.exceptions import ConfigError
from smithy_core.exceptions import CallError, ModeledError, SerializationError, SmithyIdentityError
from smithy_http.aio.crt import AWSCRTHTTPClient, AWSCRTHTTPClientConfig

from s3_audio_consumer.recognition import StreamFailed

# The adapter's one logger, whichever of its modules logs (aws_recognizer.py is its entry).
logger = logging.getLogger("s3_audio_consumer.aws_recognizer")

# A new stream would be refused again: the request, the configuration or the
# credentials are wrong. Everything else (LimitExceeded, ServiceUnavailable,
# InternalFailure, Conflict, a dropped connection, a timeout) may well work on a new
# stream. SmithyIdentityError is the SDK's "no credentials could be resolved".
_NOT_RETRYABLE: tuple[type[BaseException], ...] = (
    BadRequestException,
    SerializationError,
    SmithyIdentityError,
    ConfigError,
)
_CLOSE_INPUT_S = 2.0

T = TypeVar("T")


def stream_failed(error: BaseException, during: str) -> StreamFailed:
    """The port's error for an SDK (or network) error, retryable unless a new stream
    would be refused as well."""
    detail = getattr(error, "message", None) or str(error)
    return StreamFailed(f"transcribe {during}: {type(error).__name__}: {detail}", _retryable(error))


def _retryable(error: BaseException) -> bool:
    if isinstance(error, _NOT_RETRYABLE):
        return False
    if isinstance(error, CallError) and not isinstance(error, ModeledError):
        # An error status the service model does not name: 403 (a bad signature or an
        # unknown key) or 404 is the client's fault and would come again; 5xx, 408 and
        # 429 may not. (The SDK does not retry a stream's start itself: its input is a stream.)
        return error.fault != "client" or error.is_throttling_error or error.is_timeout_error
    return True


class _TrustingCRTClient(AWSCRTHTTPClient):
    """The SDK's HTTP/2 client (awscrt), trusting only the CA in `ca_file`.

    smithy-http 0.6 offers no trust-store setting (its AWSCRTHTTPClient leaves TLS
    configuration unsupported), and every connection is made from the private `_tls_ctx`
    built in its __init__: replacing it there is the one way in."""

    def __init__(self, ca_file: str) -> None:
        super().__init__(client_config=AWSCRTHTTPClientConfig(force_http_2=True))
        self._ca_file = ca_file
        options = io.TlsContextOptions()
        options.override_default_trust_store_from_path(ca_filepath=ca_file)
        self._tls_ctx = io.ClientTlsContext(options)

    def __deepcopy__(self, memo: Any) -> _TrustingCRTClient:
        # The base class's copy would go back to the default trust store.
        return _TrustingCRTClient(self._ca_file)


@dataclass(frozen=True)
class ClientOverrides:
    """A plugin of the SDK's client (applied to its configuration once, when the
    configuration is resolved on the first call): the region, the endpoint and the
    transport. Credentials stay with the SDK's default chain (environment variables on
    Lambda, then profiles, container and instance metadata)."""

    region: str
    endpoint_url: str | None
    ca_file: str | None

    def __call__(self, config: AsyncTranscribeStreamingConfig) -> None:
        config.region = self.region
        # Set even when None, so that only the argument decides where streams go.
        config.endpoint_uri = self.endpoint_url
        replaced = config.transport
        # Transcribe streams are duplex: HTTP/2, which aiohttp (the SDK's default) lacks.
        config.transport = (
            _TrustingCRTClient(self.ca_file)
            if self.ca_file
            else AWSCRTHTTPClient(client_config=AWSCRTHTTPClientConfig(force_http_2=True))
        )
        if replaced is not None:
            _close_soon(replaced)


# Closing transports, kept until they are closed (the loop holds tasks only weakly).
_CLOSING: set[asyncio.Task[None]] = set()


def _close_soon(transport: Any) -> None:
    """The SDK builds its default transport (with an open aiohttp session) before the
    plugins run; the one replaced is closed rather than left to warn when collected.
    Plugins run on the loop, within the client's first call."""
    task = asyncio.get_running_loop().create_task(transport.close())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


def transcribe_client(
    region: str, endpoint_url: str | None = None, ca_file: str | None = None
) -> AsyncTranscribeStreamingClient:
    """The SDK's client, for AWS's regional endpoint unless `endpoint_url` names another
    (the local endpoint, local/endpoints/transcribe_streaming.py). `ca_file` replaces the
    trust store, as boto3 does with AWS_CA_BUNDLE: the local endpoint's certificate
    comes from a CA of its own, and streams only go over HTTP/2 with TLS.

    Nothing is resolved here: the configuration (environment, profiles) is read on the
    client's first call, on the event loop, within the start's timeout."""
    return AsyncTranscribeStreamingClient(plugins=[ClientOverrides(region, endpoint_url, ca_file)])


class _LoopThread:
    """The process's one event loop, started on first use in a daemon thread so that
    it never keeps the process alive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="transcribe-loop", daemon=True).start()
                self._loop = loop
            return self._loop


LOOP = _LoopThread()


def run_on(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Runs `coroutine` on `loop` and waits for it (at most timeout_s) from the calling thread."""
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    try:
        return future.result(timeout_s)
    except TimeoutError:
        future.cancel()
        raise


async def close_quietly(sdk_stream: Any) -> None:
    """Closes the input of a stream that failed, was refused or is given up on: its
    own failure is the one worth reporting, and a close that cannot get through (the end
    frame waits on the connection) is not waited for long."""
    try:
        await asyncio.wait_for(sdk_stream.input_stream.close(), _CLOSE_INPUT_S)
    except Exception as error:
        logger.debug("closing a failed transcribe stream: %s", error)
