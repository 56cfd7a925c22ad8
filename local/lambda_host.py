"""Runs the real Lambda handlers in this process, as Lambda would: one context per
invocation, asynchronous invokes in a worker pool with Lambda's retries."""

from __future__ import annotations

import importlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("local.lambda")


@dataclass(frozen=True)
class FunctionDef:
    name: str
    handler: str  # "package.module:function"
    timeout_seconds: int
    memory_mb: int
    async_retries: int


class LambdaContext:
    def __init__(self, function: FunctionDef) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function.name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class UnknownFunction(KeyError):
    pass


class LambdaHost:
    def __init__(
        self, functions: list[FunctionDef], workers: int = 6, concurrency: dict[str, int] | None = None
    ) -> None:
        self._functions = {f.name: f for f in functions}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        # One pool per function, as Lambda gives each function its own concurrency: a
        # consumer waiting for a late chunk never holds up the processor or the writer.
        limits = concurrency or {}
        self._pools = {
            f.name: ThreadPoolExecutor(max_workers=limits.get(f.name, workers), thread_name_prefix=f.name)
            for f in functions
        }

    def _handler(self, name: str) -> tuple[FunctionDef, Callable[[Any, Any], Any]]:
        function = self._functions.get(name)
        if function is None:
            raise UnknownFunction(name)
        if name not in self._handlers:
            module_name, _, attribute = function.handler.partition(":")
            self._handlers[name] = getattr(importlib.import_module(module_name), attribute)
        return function, self._handlers[name]

    def invoke(self, name: str, event: Any) -> Any:
        """RequestResponse: the handler's result, or its exception."""
        function, handler = self._handler(name)
        return handler(event, LambdaContext(function))

    def invoke_async(self, name: str, payload: bytes) -> Future[None]:
        """InvocationType=Event: queued, retried like Lambda (up to the function's retries)."""
        function, _ = self._handler(name)
        event = json.loads(payload or b"{}")

        def run() -> None:
            for attempt in range(function.async_retries + 1):
                try:
                    self.invoke(name, event)
                    return
                except Exception:
                    logger.exception("%s failed (attempt %d)", name, attempt + 1)
            logger.error("%s: event dropped after %d attempts", name, function.async_retries + 1)

        return self._pools[name].submit(run)

    def shutdown(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
