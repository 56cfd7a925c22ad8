"""`make local`: the whole product on 127.0.0.1, no AWS account.

moto (S3, DynamoDB, SQS) runs on an internal port; everything a browser or a client
talks to is on PORT (default 8080): the WebSocket gateway, the management and Lambda
APIs the handlers call, S3 for clip URLs, the dev identity and the apps. Translate, Polly
and Transcribe streaming are local endpoints on ports of their own (local/endpoints/),
backed by the offline engines, so that the production adapters run: the audio processor's
Translate and Polly ones, and the session worker's Transcribe one through the real SDK.
The Lambda handlers are the real ones, unchanged: endpoints and engines come from the
environment."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypedDict

from audio_processor.config import AWS_ENGINES
from connection_handler.messages import ACTIONS
from deployment import env_names, functions
from local.devauth import DevIdentity
from local.endpoints.service_latency import VARIABLE as LATENCY_VARIABLE
from local.endpoints.service_latency import ServiceLatency
from local.endpoints.transcribe_streaming import EndpointSettings, TranscribeStreamingEndpoint
from local.gateway import Gateway, GatewaySettings
from local.lambda_host import FunctionDef, LambdaHost
from local.paths import ROOT, ffmpeg_path
from local.process import free_port
from local.resources import LocalNames, LocalQueues, create_all, sqs_records
from s3_audio_consumer.wiring import AWS_RECOGNIZER
from shared import resources
from shared.worker_kick import LEASE_MS

logger = logging.getLogger("local")

ENV = "local"
STAGE = "local"
API_ID = "localapi01"
# The same functions, handlers, sizes and retries as the stacks (lambdas/deployment/functions.py).
FUNCTION_DEFS = tuple(
    FunctionDef(
        name=resources.function_name(f.base_name, ENV),
        handler=f"{f.module}:{f.entry}",
        timeout_seconds=f.timeout_seconds,
        memory_mb=f.memory_mb,
        async_retries=f.async_retries or 0,
    )
    for f in functions.ALL
)
APPS = {
    "speaker": ROOT / "frontend-client-apps" / "speaker-app" / "dist",
    "listener": ROOT / "frontend-client-apps" / "listener-app" / "dist",
}
# The offline streaming recognizer (Whisper behind Silero VAD) in process, in place of the
# production adapter and the local Transcribe endpoint (those run by default: RECOGNIZER=aws).
LOCAL_RECOGNIZER = "local.engines.streaming:build"
# SPEECH_ENGINES values whose translations and voices are the offline engines' (through the
# local endpoints, or in process): the stack offers only the pairs those serve.
OFFLINE_ENGINES = (AWS_ENGINES, "local.engines:build")


def fn(base: str) -> str:
    return resources.function_name(base, ENV)


@dataclass
class LocalStack:
    port: int
    # "aws": the production AwsTranslator and AwsSynthesizer, against the local endpoints;
    # "local.engines:build": the offline engines in process (opt-in).
    engines: str = AWS_ENGINES
    # "aws" (the default): the production AwsRecognizer, against the local Transcribe
    # endpoint; LOCAL_RECOGNIZER: the offline recognizer in process (opt-in, docs/LOCAL.md).
    recognizer: str = AWS_RECOGNIZER
    verbose: bool = False
    latency: ServiceLatency = field(default_factory=ServiceLatency)  # none unless main() asks
    # --lan: the gateway listens on every interface, and the URLs a phone follows (the
    # listener link and QR, the clip and transcript links) name this machine's address.
    bind: str = "127.0.0.1"
    public_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.names = LocalNames(ENV)
        self.identity = DevIdentity()
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.moto_port = free_port()
        self.moto_url = f"http://127.0.0.1:{self.moto_port}"
        self.endpoint_ports = {"translate": free_port(), "polly": free_port()}

    @cached_property
    def transcribe(self) -> TranscribeStreamingEndpoint | None:
        """The local Transcribe streaming endpoint, when the production recognizer runs.
        Made here (its CA and port are in the environment), started by `run`."""
        if self.recognizer != AWS_RECOGNIZER:
            return None
        settings = EndpointSettings(
            start_delay_s=self.latency.transcribe_start_ms / 1000,
            result_lag_s=self.latency.transcribe_lag_ms / 1000,
        )
        return TranscribeStreamingEndpoint(settings, port=free_port())

    def endpoints(self) -> dict[str, str]:
        """The local AWS endpoints' base URLs, by service (the names AWS's endpoint
        variables use: AWS_ENDPOINT_URL_<NAME>)."""
        urls = {name: f"http://127.0.0.1:{port}" for name, port in self.endpoint_ports.items()}
        if self.transcribe is not None:
            urls["transcribestreaming"] = self.transcribe.base_url
        return urls

    def _transcribe_environment(self) -> dict[str, str]:
        if self.transcribe is None:
            return {}
        # The endpoint serves TLS (HTTP/2 needs it for the SDK's client) with a CA of its own.
        return {
            env_names.TRANSCRIBE_ENDPOINT: self.transcribe.base_url,
            env_names.CA_BUNDLE: self.transcribe.ca_file,
        }

    # -- environment -------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        base = f"http://127.0.0.1:{self.port}"
        public = f"http://{self.public_host}:{self.port}"  # what a listener's browser is sent to
        return {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            env_names.AWS_REGION: "us-east-1",
            "AWS_ENDPOINT_URL": self.moto_url,
            # Presigned clip and transcript URLs carry this host: a phone fetches them.
            "AWS_ENDPOINT_URL_S3": f"{public}/s3",
            "AWS_ENDPOINT_URL_LAMBDA": base,
            "AWS_ENDPOINT_URL_TRANSLATE": self.endpoints()["translate"],
            "AWS_ENDPOINT_URL_POLLY": self.endpoints()["polly"],
            **self._transcribe_environment(),
            env_names.ENVIRONMENT: ENV,
            env_names.SESSIONS_TABLE: self.names.sessions_table,
            env_names.CONNECTIONS_TABLE: self.names.connections_table,
            env_names.IDEMPOTENCY_TABLE: self.names.idempotency_table,
            env_names.CHUNK_BUCKET: self.names.chunk_bucket,
            env_names.S3_BUCKET_NAME: self.names.translation_bucket,
            env_names.API_GATEWAY_ENDPOINT: f"{base}/{STAGE}",
            env_names.CHUNK_WRITER_FUNCTION: fn(functions.CHUNK_WRITER.base_name),
            env_names.AUDIO_PROCESSOR_FUNCTION: fn(functions.AUDIO_PROCESSOR.base_name),
            env_names.AUDIO_CONSUMER_FUNCTION: fn(functions.S3_AUDIO_CONSUMER.base_name),
            env_names.TRANSCRIPTS_FUNCTION: fn(functions.TRANSCRIPTS.base_name),
            env_names.FANOUT_FUNCTION: fn(functions.FANOUT.base_name),
            # Tests set small pages, so that tens of listeners go through the fan-out function.
            env_names.FANOUT_PAGE_SIZE: os.environ.get(env_names.FANOUT_PAGE_SIZE, "1000"),
            env_names.RECOGNIZER: self.recognizer,
            env_names.WORKER_HANDOVER_SECONDS: os.environ.get(env_names.WORKER_HANDOVER_SECONDS, "720"),
            # The lease AWS runs with (shared/worker_kick.py): its beats never wait on the
            # recognizer, which runs on a thread of its own. WORKER_LEASE_MS overrides it.
            env_names.WORKER_LEASE_MS: os.environ.get(env_names.WORKER_LEASE_MS, str(LEASE_MS)),
            env_names.PRESIGNED_URL_EXPIRATION: "600",
            env_names.FFMPEG_PATH: ffmpeg_path(),
            env_names.LISTENER_BASE_URL: f"{public}/listener/",
            env_names.SPEAKER_GRACE_SECONDS: os.environ.get(env_names.SPEAKER_GRACE_SECONDS, "120"),
            env_names.SPEECH_ENGINES: self.engines,
            env_names.LANGUAGE_PAIRS: self._language_pairs(),
            "POWERTOOLS_SERVICE_NAME": "low-latency-translate-local",
            "POWERTOOLS_METRICS_NAMESPACE": "LowLatencyTranslateLocal",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO" if self.verbose else "WARNING",
            **self.identity.environment(),
        }

    def _language_pairs(self) -> str:
        if self.engines not in OFFLINE_ENGINES:
            return ""  # another engine set: every pair of the table
        from local.engines import served_pairs

        return served_pairs().format()

    # -- parts ---------------------------------------------------------------------
    def start_moto(self) -> None:
        from local.moto_server import AtomicMotoServer

        self.moto = AtomicMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self.moto.start()

    def create_resources(self) -> LocalQueues:
        import boto3

        # Direct to moto: the gateway's S3 proxy is not listening yet.
        return create_all(boto3.Session(region_name="us-east-1"), self.names, self.moto_url)

    def lambda_host(self) -> LambdaHost:
        return LambdaHost(
            list(FUNCTION_DEFS),
            # Whisper uses both cores: more than two batches at once only slows each one.
            # One worker thread per live session (and a successor during a handover).
            concurrency={
                fn(functions.AUDIO_PROCESSOR.base_name): 2,
                fn(functions.S3_AUDIO_CONSUMER.base_name): 16,
            },
        )

    def drain(
        self, queue_url: str, deliver: Callable[[list[dict[str, Any]]], None], idle_seconds: float = 0.05
    ) -> None:
        """Receives from a moto queue until the stack stops; each batch goes to `deliver`.
        Short polls: moto's long polling spins a core."""
        import boto3

        sqs = boto3.client("sqs", endpoint_url=self.moto_url, region_name="us-east-1")
        while not self.stopping.is_set():
            try:
                messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            except Exception:
                logger.exception("queue %s unavailable", queue_url)
                time.sleep(1)
                continue
            if not messages:
                time.sleep(idle_seconds)
                continue
            deliver(messages)
            for message in messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def session_timers(self, host: LambdaHost) -> Callable[[list[dict[str, Any]]], None]:
        """The delay queue's due messages invoke session-timer, as its SQS event source does."""

        def deliver(messages: list[dict[str, Any]]) -> None:
            host.invoke_async(
                fn(functions.SESSION_TIMER.base_name), json.dumps({"Records": sqs_records(messages)}).encode()
            )

        return deliver

    def warm_up(self) -> None:
        """Loads Whisper and Silero VAD (for the Transcribe endpoint or the in-process
        recognizer) and Piper (for the Polly endpoint or the in-process engines) before
        /healthz says ready."""
        from faster_whisper.vad import get_vad_model

        from local.engines import warm_up_voice, whisper_model

        started = time.monotonic()
        if self.recognizer in (AWS_RECOGNIZER, LOCAL_RECOGNIZER):
            get_vad_model()
            whisper_model().warm_up()
        warm_up_voice()
        logger.info("speech engines ready in %.1f s", time.monotonic() - started)
        self.ready.set()

    def endpoint_apps(self) -> dict[str, Any]:
        """Translate and Polly as aiohttp applications, by service, on the offline engines."""
        from local.endpoints.polly import PollyEndpoint, PollyService
        from local.endpoints.translate import TranslateEndpoint, TranslateService
        from local.engines import local_voices
        from local.engines.apertium import ApertiumTranslator

        translate = TranslateEndpoint(TranslateService(ApertiumTranslator()), self.latency.translate_ms)
        polly = PollyEndpoint(PollyService(local_voices(), ffmpeg_path()), self.latency.polly_ms)
        return {"translate": translate.app(), "polly": polly.app()}

    # -- run -------------------------------------------------------------------------
    def run(self) -> None:
        os.environ.update(self.environment())
        self.start_moto()
        if self.transcribe is not None:
            self.transcribe.start()
        queues = self.create_resources()
        os.environ[env_names.SESSION_TIMER_QUEUE_URL] = queues.session_timers
        os.environ[env_names.UNDELIVERED_QUEUE_URL] = queues.undelivered
        host = self.lambda_host()
        apps = {name: folder for name, folder in APPS.items() if (folder / "index.html").exists()}
        shuffle_seed = os.environ.get("LOCAL_SHUFFLE_SEED")
        gateway = Gateway(
            GatewaySettings(
                port=self.port,
                stage=STAGE,
                api_id=API_ID,
                authorizer=fn(functions.AUTHORIZER.base_name),
                connection_handler=fn(functions.CONNECTION_HANDLER.base_name),
                routes=tuple(ACTIONS),  # the routes the stack declares, one per action
                moto_url=self.moto_url,
                served_pairs=self._language_pairs(),
                apps=apps,
                # > 1: messages of a connection dispatched in a shuffled order, for tests (docs/LOCAL.md)
                shuffle_window=int(os.environ.get("LOCAL_SHUFFLE_WINDOW") or 0),
                shuffle_seed=int(shuffle_seed) if shuffle_seed else None,
                sessions_table=self.names.sessions_table,
                endpoints=self.endpoints(),
            ),
            host,
            self.identity,
            self.ready.is_set,
        )
        # Timers of seconds: a poll every half second is plenty.
        threading.Thread(
            target=self.drain, args=(queues.session_timers, self.session_timers(host), 0.5), daemon=True
        ).start()
        threading.Thread(target=self.warm_up, daemon=True).start()
        shown = self.public_host
        logger.info("listening on http://%s:%d (WebSocket ws://%s:%d/ws)", shown, self.port, shown, self.port)
        if self.bind != "127.0.0.1":
            logger.warning("serving on every interface (%s): docs/LOCAL.md says what that exposes", self.bind)
        logger.info("local AWS endpoints: %s (%s)", self.endpoints(), self.latency)
        if apps:
            logger.info("apps: %s", ", ".join(f"http://{shown}:{self.port}/{name}/" for name in apps))
        else:
            logger.info("apps not built: run `make apps` to serve /speaker/ and /listener/")
        try:
            asyncio.run(self._serve(gateway))
        finally:
            self.stopping.set()
            host.shutdown()
            with contextlib.suppress(Exception):
                self.moto.stop()
            if self.transcribe is not None:
                self.transcribe.stop()
            logger.info("stopped")

    async def _serve(self, gateway: Gateway) -> None:
        from aiohttp import web

        # Only the gateway may listen beyond this machine (--lan); the AWS endpoints never do.
        sites = [(gateway.app(), self.bind, self.port)]
        sites += [(app, "127.0.0.1", self.endpoint_ports[name]) for name, app in self.endpoint_apps().items()]
        runners = []
        for app, bind, port in sites:
            web_runner = web.AppRunner(app, access_log=None)
            await web_runner.setup()
            await web.TCPSite(web_runner, bind, port).start()
            runners.append(web_runner)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        for web_runner in reversed(runners):
            await web_runner.cleanup()


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    for name in ("botocore", "boto3", "urllib3", "werkzeug", "aiohttp.access", "faster_whisper"):
        logging.getLogger(name).setLevel(logging.WARNING)
    yield


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument(
        "--engines",
        default=os.environ.get(env_names.SPEECH_ENGINES, AWS_ENGINES),
        help="the audio_processor's translation and speech: 'aws' (default: the production adapters, "
        "against the local Translate and Polly endpoints) or 'module:factory' returning its Engines "
        "('local.engines:build': the offline engines in process)",
    )
    parser.add_argument(
        "--recognizer",
        default=os.environ.get(env_names.RECOGNIZER, AWS_RECOGNIZER),
        help="the session worker's recognizer: 'aws' (default: the production adapter, against the local "
        f"Transcribe streaming endpoint) or '{LOCAL_RECOGNIZER}' (the offline one in process)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the handlers' own logs")
    parser.add_argument(
        "--lan",
        action="store_true",
        default=os.environ.get("LOCAL_LAN", "") not in ("", "0"),
        help="serve phones on this network: listen on every interface, links and QR on this machine's "
        "address (LOCAL_LAN=1; docs/LOCAL.md says what that exposes)",
    )
    parser.add_argument(
        "--public-host",
        default=os.environ.get("LOCAL_PUBLIC_HOST", ""),
        help="with --lan, the address phones use (LOCAL_PUBLIC_HOST; default: this machine's LAN address)",
    )
    return parser.parse_args(argv)


def lan_address() -> str:
    """This machine's address on its network: the source address of its default route. A UDP
    connect sends nothing; the address is a documentation one (RFC 5737), never reached."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError as error:
            raise SystemExit(f"--lan: no network address found ({error}); set LOCAL_PUBLIC_HOST") from error
        return str(probe.getsockname()[0])


class NetworkBinding(TypedDict):
    """Where the gateway listens and the host the phones' links name (LocalStack's fields)."""

    bind: str
    public_host: str


def network_binding(args: argparse.Namespace) -> NetworkBinding:
    """Loopback only by default; with --lan, every interface and this machine's address."""
    if not args.lan:
        return {"bind": "127.0.0.1", "public_host": "127.0.0.1"}
    return {"bind": "0.0.0.0", "public_host": args.public_host or lan_address()}


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # Timing like AWS unless LOCAL_AWS_LATENCY says otherwise (local/endpoints/service_latency.py).
    latency = ServiceLatency.parse(os.environ.get(LATENCY_VARIABLE, "aws"))
    with quiet_libraries():
        LocalStack(
            port=args.port,
            engines=args.engines,
            recognizer=args.recognizer,
            verbose=args.verbose,
            latency=latency,
            **network_binding(args),
        ).run()


if __name__ == "__main__":
    main()
