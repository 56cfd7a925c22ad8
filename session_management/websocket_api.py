"""The WebSocket API: routes, the $connect authorizer, and a throttled, logged stage."""

from __future__ import annotations

import jsii
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants
from infra.nag import suppress

ACCESS_LOG_FORMAT = apigw_v1.AccessLogFormat.custom(
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"connectionId":"$context.connectionId","routeKey":"$context.routeKey",'
    '"eventType":"$context.eventType","status":"$context.status",'
    '"error":"$context.error.message","integrationError":"$context.integrationErrorMessage",'
    '"authorizerError":"$context.authorizer.error","latency":"$context.integrationLatency",'
    '"requestTime":"$context.requestTimeEpoch"}'
)


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogSettings:
    def __init__(
        self, destination: apigw.IAccessLogDestination, log_format: apigw_v1.AccessLogFormat
    ) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        return self._format


class WebSocketGateway(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        handler: lambda_.IFunction,
        authorizer: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        integration = integrations.WebSocketLambdaIntegration("ConnectionHandler", handler)
        # Listeners connect without a token, so no identity source is required:
        # the authorizer runs on every $connect and decides speaker vs listener.
        connect_authorizer = authorizers.WebSocketLambdaAuthorizer(
            "ConnectAuthorizer", authorizer, identity_source=[]
        )
        self.api = apigw.WebSocketApi(
            self,
            "Api",
            api_name=f"low-latency-translate-{env_name}",
            route_selection_expression=constants.ROUTE_SELECTION_EXPRESSION,
            connect_route_options=apigw.WebSocketRouteOptions(
                integration=integration, authorizer=connect_authorizer
            ),
            disconnect_route_options=apigw.WebSocketRouteOptions(integration=integration),
            default_route_options=apigw.WebSocketRouteOptions(integration=integration),
        )
        for action in constants.CLIENT_ACTIONS:
            self.api.add_route(action, integration=integration)

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=constants.LOG_RETENTION[env_name],
        )
        # No X-Ray on the stage: API Gateway traces REST APIs only (a WebSocket stage has no
        # tracing setting). Traces start at the functions, which all trace actively.
        self.stage = apigw.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=env_name,
            auto_deploy=True,
            access_log_settings=_AccessLogSettings(
                apigw.LogGroupLogDestination(access_logs), ACCESS_LOG_FORMAT
            ),
            throttle=apigw.ThrottleSettings(
                rate_limit=constants.STAGE_THROTTLE_RATE[env_name],
                burst_limit=constants.STAGE_THROTTLE_BURST[env_name],
            ),
        )
        suppress(
            self.api,
            "APIG4",
            "WebSocket APIs authorize once, on $connect (which has the Lambda "
            "authorizer); API Gateway allows no authorizer on the other routes. "
            "The handler checks the connection's role on every action.",
            children=True,
        )

    @property
    def management_endpoint(self) -> str:
        """https://{api}.execute-api.{region}.amazonaws.com/{stage}: the endpoint of
        the @connections management API (not the wss:// client URL)."""
        return self.stage.callback_url
