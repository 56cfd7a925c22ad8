"""The rate counters' items in the Sessions table: plain counts that expire by TTL, and
allowances spent in one conditional write. What is counted, and under which name, is
the Throttle's (throttle.py); this module only stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared import resources
from shared.conditional import conditional_failed
from shared.session_record import as_int

# Partition-key prefix of every counter item, next to the sessions and the rejoin tokens
# (store.py) in the same table.
COUNTER_KEY_PREFIX = "rate#"


@dataclass(frozen=True)
class Allowance:
    """A limit of `limit` uses per `seconds`, counted in the item `rate#<name>`."""

    name: str
    limit: int
    seconds: int = 60

    @property
    def key(self) -> str:
        return f"{COUNTER_KEY_PREFIX}{self.name}"


class RateCounters:
    def __init__(self, table: Any) -> None:
        self._table = table

    def count(self, name: str, ttl: int) -> int:
        """Adds one to the counter `name`, an item that expires by TTL; returns the new count."""
        result = self._table.update_item(
            Key={"sessionId": f"{COUNTER_KEY_PREFIX}{name}"},
            UpdateExpression="ADD hits :one SET #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": resources.TTL_ATTRIBUTE},
            ExpressionAttributeValues={":one": 1, ":ttl": ttl},
            ReturnValues="UPDATED_NEW",
        )
        return int(result["Attributes"]["hits"])

    def spend(self, allowance: Allowance, now: int) -> bool:
        """One more use of the allowance, in one conditional write; False (nothing spent)
        when its limit is spent. The window opens with its first use and lasts
        `allowance.seconds`; the use that reaches the limit restarts it, so a block lasts
        `allowance.seconds` from then. Concurrent callers never pass the limit together."""
        for _ in range(2):  # a window that expired is reopened; a racing reopen is retried once
            hits = self._add_in_window(allowance, now)
            if hits is not None:
                if hits >= allowance.limit:
                    self._extend(allowance, now)
                return True
            if self._open_window(allowance, now):
                if allowance.limit <= 1:
                    self._extend(allowance, now)
                return True
        return False

    def spent(self, allowance: Allowance, now: int) -> bool:
        """True while the allowance's limit is spent (a strongly consistent read)."""
        item = self._table.get_item(Key={"sessionId": allowance.key}, ConsistentRead=True).get("Item") or {}
        return as_int(item.get("hits"), 0) >= allowance.limit and as_int(item.get("until"), 0) > now

    def _add_in_window(self, allowance: Allowance, now: int) -> int | None:
        try:
            result = self._table.update_item(
                Key={"sessionId": allowance.key},
                UpdateExpression="ADD hits :one",
                ConditionExpression="#until > :now AND hits < :limit",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":one": 1, ":now": now, ":limit": allowance.limit},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if conditional_failed(error):
                return None
            raise
        return int(result["Attributes"]["hits"])

    def _open_window(self, allowance: Allowance, now: int) -> bool:
        until = now + allowance.seconds
        try:
            self._table.put_item(
                Item={
                    "sessionId": allowance.key,
                    "hits": 1,
                    "until": until,
                    resources.TTL_ATTRIBUTE: until + 60,
                },
                ConditionExpression="attribute_not_exists(#until) OR #until <= :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def _extend(self, allowance: Allowance, now: int) -> None:
        until = now + allowance.seconds
        self._table.update_item(
            Key={"sessionId": allowance.key},
            UpdateExpression="SET #until = :until, #ttl = :ttl",
            ExpressionAttributeNames={"#until": "until", "#ttl": resources.TTL_ATTRIBUTE},
            ExpressionAttributeValues={":until": until, ":ttl": until + 60},
        )
