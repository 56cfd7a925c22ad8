"""fanout: {message, connectionIds} from the processor (one page of a clip's listeners)
-> one post per connection, hundreds in flight -> {delivered, gone, failed, peakInFlight}.
The processor removes the gone connections, once, for all its pages."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from delivery.fanout import PageRequest, SignedPoster, post_page, poster_from_env
from shared.observability import logger, metrics, observed


@observed
def lambda_handler(event: dict[str, Any], context: Any, poster: SignedPoster | None = None) -> dict[str, Any]:
    try:
        request = PageRequest.model_validate(event)
        answer = post_page(poster or poster_from_env(), request)
    except (ValidationError, ValueError) as error:
        logger.error("invalid fan-out page", extra={"problems": str(error)[:500]})
        return {"outcome": "invalid", "problems": str(error)[:500]}
    metrics.add_metric(name="FanoutPosts", unit=MetricUnit.Count, value=answer["delivered"])
    metrics.add_metric(name="FanoutFailedPosts", unit=MetricUnit.Count, value=answer["failed"])
    return answer
