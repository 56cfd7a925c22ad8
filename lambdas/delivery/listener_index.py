"""Reads the keys-only GSI that lists a session's listeners and their languages."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from shared import resources


def session_listeners(connections_table: Any, session_id: str) -> list[tuple[str, str]]:
    """(connectionId, targetLanguage) of every listener of the session, all pages."""
    found: list[tuple[str, str]] = []
    kwargs: dict[str, Any] = {
        "IndexName": resources.LISTENERS_BY_LANGUAGE_INDEX,
        "KeyConditionExpression": Key(resources.LISTENERS_INDEX_PARTITION_KEY).eq(session_id),
    }
    while True:
        page = connections_table.query(**kwargs)
        for item in page.get("Items", []):
            connection_id = str(item[resources.CONNECTIONS_PARTITION_KEY])
            found.append((connection_id, str(item[resources.LISTENERS_INDEX_SORT_KEY])))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
