"""connection_handler: every route of the WebSocket API.

Reads who is calling (the service knows the role given at $connect), then hands the
event to routes.py, which calls the method of the domain's part that serves it, sends what it returns, and
maps every error to one `error` message."""

from __future__ import annotations

from typing import Any

from connection_handler import routes, wiring
from shared.observability import follow, observed


@observed
def lambda_handler(
    event: dict[str, Any], context: Any, runtime: wiring.Runtime | None = None
) -> dict[str, Any]:
    runtime = runtime or wiring.runtime()
    request = event["requestContext"]
    event_type = request.get("eventType")
    connections = runtime.service.connections
    caller = connections.identify(routes.claimed_caller(request), connecting=event_type == "CONNECT")
    follow(connectionId=caller.connection_id, routeKey=request.get("routeKey"), role=caller.role)
    if event_type == "CONNECT":
        return routes.connect(runtime, caller, event.get("queryStringParameters") or {})
    if event_type == "DISCONNECT":
        routes.send(runtime, connections.disconnect(caller))
        return {"statusCode": 200}
    routes.send(runtime, routes.message(runtime, caller, event.get("body")))
    return {"statusCode": 200}
