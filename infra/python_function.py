"""A Python Lambda function the way this project ships every function:
own role without managed policies, own log group with retention, locally
bundled code with lambdas/shared, delivery and deployment, Powertools settings, and for asynchronous
invocations a failure queue and a deliberate retry policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import ArnFormat, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants
from infra.bundling import function_code
from infra.failure_queue import FailureQueue
from infra.nag import AppliesTo, suppress
from lambdas.deployment import functions
from lambdas.shared.resources import function_name


def function_arn(scope: Construct, base_name: str, env_name: str) -> str:
    """The unqualified ARN of one of this project's functions, built from its
    deterministic name ("<base>-<env>") in the scope's account and region.

    Granting by this ARN rather than by the function's reference avoids dependency
    cycles: across stacks (SessionManagement reaches audio_processor, which depends on
    it) and within one function (a role allowed to invoke its own function)."""
    return Stack.of(scope).format_arn(
        service="lambda",
        resource="function",
        resource_name=function_name(base_name, env_name),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


# What active tracing needs from a function's role (the grant Lambda's Tracing.ACTIVE makes).
XRAY_TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


@dataclass(frozen=True)
class FunctionSpec:
    function: functions.FunctionInfo  # its name, bundle (package), handler and size: one table
    description: str
    environment: Mapping[str, str] = field(default_factory=dict)
    layers: Sequence[lambda_.ILayerVersion] = ()
    invoked_asynchronously: bool = False
    # None: no reservation (the function shares the account's unreserved pool).
    reserved_concurrency: int | None = None

    def __post_init__(self) -> None:
        # 0 would stop every invocation: "no reservation" is None, never 0.
        if self.reserved_concurrency is not None and self.reserved_concurrency < 1:
            raise ValueError(f"{self.base_name}: reserved concurrency must be >= 1 or None")

    @property
    def base_name(self) -> str:
        return self.function.base_name


class PythonFunction(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env_name: str, spec: FunctionSpec) -> None:
        super().__init__(scope, construct_id)
        size = constants.SIZES[spec.base_name]
        name = function_name(spec.base_name, env_name)

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {name}",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=constants.LOG_RETENTION[env_name],
            removal_policy=RemovalPolicy.DESTROY if env_name == "dev" else RemovalPolicy.RETAIN,
        )
        self.log_group.grant_write(self.role)
        tracing = self._tracing_policy()

        self.failure_queue = FailureQueue(self, "OnFailure") if spec.invoked_asynchronously else None
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            description=spec.description,
            runtime=constants.RUNTIME,
            architecture=constants.ARCHITECTURE,
            code=function_code(spec.function.package),
            handler=spec.function.handler,
            role=self.role,
            log_group=self.log_group,
            memory_size=size.memory_mb,
            timeout=size.timeout,
            ephemeral_storage_size=Size.mebibytes(size.ephemeral_mb),
            layers=list(spec.layers),
            reserved_concurrent_executions=spec.reserved_concurrency,
            environment={
                "ENVIRONMENT": env_name,
                "POWERTOOLS_SERVICE_NAME": spec.base_name,
                "POWERTOOLS_METRICS_NAMESPACE": constants.PROJECT,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                # AWS calls made on threads the X-Ray SDK cannot see (the worker's recognizer
                # loop, the audience's pool) go untraced instead of logging an error each.
                "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
                **spec.environment,
            },
            retry_attempts=constants.ASYNC_RETRIES[spec.base_name] if self.failure_queue else None,
            max_event_age=constants.ASYNC_MAX_EVENT_AGE[spec.base_name] if self.failure_queue else None,
            on_failure=destinations.SqsDestination(self.failure_queue.queue) if self.failure_queue else None,
        )

        # X-Ray: each invocation's segment, and the trace carried on through the functions it
        # invokes (chunk -> worker -> utterance -> clip); Powertools' Tracer
        # (lambdas/shared/observability.py) adds the AWS calls and the session's keys. Set on
        # the template rather than with `tracing=Tracing.ACTIVE`, which would add the X-Ray
        # grant to the role's default policy, where its "*" could only be accepted for every
        # statement of that policy; the grant is in its own policy instead (_tracing_policy).
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        # As with the default policy: the function is created once it may send its segments.
        self.function.node.add_dependency(tracing)

    def _tracing_policy(self) -> iam.Policy:
        """The role's X-Ray grant, alone in a policy, so that the one wildcard accepted there
        is X-Ray's: a "*" granted to anything else on this role is still reported."""
        policy = iam.Policy(
            self,
            "Tracing",
            roles=[self.role],
            statements=[iam.PolicyStatement(actions=list(XRAY_TRACING_ACTIONS), resources=["*"])],
        )
        suppress(
            policy,
            "IAM5",
            "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions "
            "(the Service Authorization Reference lists no resource type for them): this policy holds "
            "only those two actions, granted on Resource * as Lambda's active tracing does.",
            applies_to=["Resource::*"],
            children=True,
        )
        return policy

    def allow_wildcards(self, reason: str, *findings: AppliesTo) -> None:
        """Accept named IAM5 findings on this function's role, with the reason."""
        suppress(self.role, "IAM5", reason, applies_to=findings, children=True)
