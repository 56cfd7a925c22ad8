"""cdk-nag (2.x, Aspects) with suppressions that each name their rule, the exact
finding they cover and the reason."""

from __future__ import annotations

import re
from collections.abc import Sequence

from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

AppliesTo = str | RegexAppliesTo


def suppress(
    construct: IConstruct,
    rule: str,
    reason: str,
    *,
    applies_to: Sequence[AppliesTo] | None = None,
    children: bool = False,
) -> None:
    NagSuppressions.add_resource_suppressions(
        construct,
        [_suppression(rule, reason, applies_to)],
        apply_to_children=children,
    )


def suppress_path(
    stack: IConstruct, path: str, rule: str, reason: str, *, applies_to: Sequence[AppliesTo] | None = None
) -> None:
    NagSuppressions.add_resource_suppressions_by_path(
        stack,  # type: ignore[arg-type]
        path,
        [_suppression(rule, reason, applies_to)],
        apply_to_children=True,
    )


def _suppression(rule: str, reason: str, applies_to: Sequence[AppliesTo] | None) -> NagPackSuppression:
    return NagPackSuppression(
        id=f"AwsSolutions-{rule}", reason=reason, applies_to=list(applies_to) if applies_to else None
    )


def objects_under(prefix: str) -> RegexAppliesTo:
    """The finding cdk-nag reports for `<Bucket.Arn>/<prefix>*`."""
    return RegexAppliesTo(regex=rf"/^Resource::<[A-Za-z0-9]+\.Arn>\/{re.escape(prefix)}\*$/g")


def stage_connections(stage_name: str) -> RegexAppliesTo:
    """The finding cdk-nag reports for POST on a stage's `@connections/*` (connection ids
    are dynamic), as granted by infra.management_api.grant_post_to_connections.
    The API id is a local reference or, from the other stack, an imported export."""
    return RegexAppliesTo(
        regex=r"/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
        r"(<[A-Za-z0-9]+>|[A-Za-z0-9-]+:ExportsOutputRef[A-Za-z0-9]+)"
        rf"\/{stage_name}\/POST\/@connections\/\*$/g"
    )
