"""A conditional DynamoDB write whose failed condition is an answer, not an error."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def conditional_failed(error: ClientError) -> bool:
    """True when a write was refused by its condition (the answer "no"), not by a fault."""
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def conditional_update(table: Any, **kwargs: Any) -> bool:
    """One UpdateItem; False when its condition failed (another writer won, or the state
    moved on), True when it was written."""
    try:
        table.update_item(**kwargs)
    except ClientError as error:
        if conditional_failed(error):
            return False
        raise
    return True
