"""Alarms on every function and failure queue of a stack, sent to one SNS topic."""

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

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
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

    def watch_failure_queue(self, name: str, queue: sqs.IQueue) -> None:
        self._alarm(
            f"{name}FailedEvents",
            queue.metric_approximate_number_of_messages_visible(period=constants.ALARM_EVALUATION_PERIOD),
            f"{name} dropped asynchronous events into its failure queue",
        )
