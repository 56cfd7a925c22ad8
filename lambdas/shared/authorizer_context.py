"""What the $connect authorizer says about a caller, defined once: the authorizer writes
it into its answer (`to_context`); API Gateway hands it to the connection handler as the
request's `authorizer` on $connect, where it is read back (`from_request`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SPEAKER, LISTENER = "speaker", "listener"


@dataclass(frozen=True)
class AuthorizerContext:
    role: str = LISTENER  # a caller without a token listens
    user_id: str = ""  # the speaker's Cognito user (its `sub`)
    email: str = ""

    def to_context(self) -> dict[str, str]:
        """The authorizer's `context`: API Gateway takes strings only, so unset fields are left out."""
        values = {"role": self.role, "userId": self.user_id, "email": self.email}
        return {key: value for key, value in values.items() if value}

    @classmethod
    def from_request(cls, authorizer: Mapping[str, Any] | None) -> AuthorizerContext:
        """The context as a request carries it (API Gateway adds keys of its own, which
        are ignored); none at all is a listener."""
        found = authorizer or {}
        return cls(
            role=str(found.get("role", LISTENER)),
            user_id=str(found.get("userId", "")),
            email=str(found.get("email", "")),
        )
