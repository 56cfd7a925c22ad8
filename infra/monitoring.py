"""Alarms on every function and queue of a stack, sent to one SNS topic."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, alarm_email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = actions.SnsAction(self.topic)

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, description: str, *, threshold: float = 1
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        return alarm

    def watch_function(self, name: str, function: lambda_.IFunction) -> None:
        period = constants.ALARM_EVALUATION_PERIOD
        self._alarm(f"{name}Errors", function.metric_errors(period=period), f"{name} raised errors")
        self._alarm(f"{name}Throttles", function.metric_throttles(period=period), f"{name} was throttled")

    def watch_failure_queue(
        self,
        name: str,
        queue: sqs.IQueue,
        description: str | None = None,
    ) -> None:
        """Any message in a queue that only failures reach (on-failure destination, DLQ)."""
        self._alarm(
            f"{name}FailedEvents",
            queue.metric_approximate_number_of_messages_visible(period=constants.ALARM_EVALUATION_PERIOD),
            description or f"{name} dropped asynchronous events into its failure queue",
        )

    def watch_queue_backlog(self, name: str, queue: sqs.IQueue, description: str) -> None:
        """Messages left visible (due, yet not received) for a whole period: the consumer
        is throttled, failing or disabled. Minimum ignores the moment between a message
        becoming visible and being received."""
        self._alarm(
            f"{name}Backlog",
            queue.metric_approximate_number_of_messages_visible(
                period=constants.ALARM_EVALUATION_PERIOD, statistic=cloudwatch.Stats.MINIMUM
            ),
            description,
        )

    def watch_metric(self, spec: constants.MetricAlarmSpec) -> cloudwatch.Alarm:
        """An alarm on a metric a function emits itself through Powertools Metrics (EMF).

        Powertools adds the dimension `service` = POWERTOOLS_SERVICE_NAME (the function's
        base name, see infra/python_function.py) and no other, so the alarm's metric must
        carry exactly that one dimension to match."""
        metric = cloudwatch.Metric(
            namespace=constants.PROJECT,
            metric_name=spec.metric_name,
            dimensions_map={"service": spec.service},
            statistic=cloudwatch.Stats.SUM,
            period=constants.ALARM_EVALUATION_PERIOD,
        )
        construct_id = "".join(part.title() for part in spec.service.split("-")) + spec.metric_name
        period_minutes = int(constants.ALARM_EVALUATION_PERIOD.to_minutes())
        return self._alarm(
            construct_id,
            metric,
            f"{spec.service} {spec.metric_name} >= {spec.threshold:g} in {period_minutes} min: {spec.reason}",
            threshold=spec.threshold,
        )

    def watch_handled_failures(self, *services: str) -> None:
        """The HANDLED_FAILURE_ALARMS of the named functions."""
        for spec in constants.HANDLED_FAILURE_ALARMS:
            if spec.service in services:
                self.watch_metric(spec)
