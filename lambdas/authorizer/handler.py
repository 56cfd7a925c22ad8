"""$connect authorizer: speakers present a Cognito ID token; listeners connect without one."""

from __future__ import annotations

from typing import Any

from authorizer import wiring
from authorizer.policy import policy
from authorizer.tokens import InvalidToken, TokenVerifier
from shared.authorizer_context import LISTENER, SPEAKER, AuthorizerContext
from shared.observability import logger, observed


@observed
def lambda_handler(
    event: dict[str, Any], context: Any, verifier: TokenVerifier | None = None
) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    resource = event["methodArn"]
    token = query.get("token")
    if not token:
        return policy(LISTENER, "Allow", resource, AuthorizerContext())
    try:
        speaker = (verifier or wiring.verifier()).verify(token)
    except InvalidToken as error:
        logger.warning("speaker token refused", extra={"reason": str(error)})
        return policy("anonymous", "Deny", resource, None)
    return policy(
        speaker.user_id, "Allow", resource, AuthorizerContext(SPEAKER, speaker.user_id, speaker.email)
    )
