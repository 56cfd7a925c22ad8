"""Retries with full-jitter backoff that never outlive the invocation's time budget.

The AWS adapters turn the SDK errors worth retrying (throttling, 5xx, dropped
connections) into `Retryable`; everything else fails at once."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "LimitExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceFailureException",
        "InternalServerException",
        "InternalFailure",
        "InternalFailureException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class Retryable(Exception):
    """A fault that a later attempt may not meet."""


def retryable_client_error(error: Exception) -> bool:
    if isinstance(error, ConnectionError | ReadTimeoutError):
        return True
    if not isinstance(error, ClientError):
        return False
    code = error.response.get("Error", {}).get("Code", "")
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code in THROTTLING_CODES or status == 429 or status >= 500


@dataclass
class Deadline:
    """Seconds left, read from Lambda's context (or any clock in tests)."""

    remaining: Callable[[], float]
    margin_seconds: float = 2.0

    def left(self) -> float:
        return self.remaining() - self.margin_seconds


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 0.1
    cap_seconds: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random

    def call(
        self, operation: Callable[[], T], deadline: Deadline, on_retry: Callable[[], None] | None = None
    ) -> T:
        attempt = 1
        while True:
            try:
                return operation()
            except Retryable:
                if attempt >= self.max_attempts:
                    raise
                pause = self.rand() * min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1))
                if deadline.left() <= pause:
                    raise
                self.sleep(pause)
                if on_retry:
                    on_retry()
                attempt += 1
