"""fanout: {message, connectionIds} from the processor (one page of a clip's listeners)
-> one post per connection, hundreds in flight -> {delivered, gone, failed, peakInFlight}.
The processor removes the gone connections, once, for all its pages."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import env_names
from shared.config import env_int, env_str
from shared.fanout import Page, SignedPoster

logger = Logger()
metrics = Metrics()

MAX_PAGE = 5000  # an invocation's payload stays far below Lambda's 6 MB


class PageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    message: str = Field(min_length=2, max_length=128 * 1024)  # API Gateway's frame limit
    connection_ids: list[str] = Field(alias="connectionIds", min_length=1, max_length=MAX_PAGE)


@cache
def _poster() -> SignedPoster:
    session = boto3.Session()
    return SignedPoster(
        env_str(env_names.API_GATEWAY_ENDPOINT),
        env_str(env_names.AWS_REGION),
        session.get_credentials,
        in_flight=env_int(env_names.FANOUT_IN_FLIGHT, 250),
    )


def post_page(poster: SignedPoster, request: PageRequest) -> dict[str, Any]:
    json.loads(request.message)  # a page is one JSON message; a broken one is refused whole
    result = poster.post(Page(request.message.encode(), tuple(request.connection_ids)))
    return result.as_dict()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = PageRequest.model_validate(event)
        answer = post_page(_poster(), request)
    except (ValidationError, ValueError) as error:
        logger.error("invalid fan-out page", extra={"problems": str(error)[:500]})
        return {"outcome": "invalid", "problems": str(error)[:500]}
    metrics.add_metric(name="FanoutPosts", unit=MetricUnit.Count, value=answer["delivered"])
    metrics.add_metric(name="FanoutFailedPosts", unit=MetricUnit.Count, value=answer["failed"])
    return answer
