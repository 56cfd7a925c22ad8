#!/usr/bin/env python3
"""CDK app: both stacks of one environment (context "env": dev or prod).

cdk synth -c env=dev         (SessionManagement first, then AudioTranscription)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypedDict

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from audio_transcription.stack import AudioTranscriptionStack
from infra import constants
from session_management.audio_consumer import StreamingSettings
from session_management.stack import SessionManagementStack


def _flag(name: str, value: object, *, default: bool) -> bool:
    """A boolean context value as given on the command line or in cdk.json (true/false, 1/0)."""
    if value is None or value == "":
        return default
    text = str(value).strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise ValueError(f"context {name} must be true or false, got {value!r}")
    return text in ("true", "1")


def _whole_seconds(name: str, value: object, *, default: int) -> int:
    """A number of seconds as given on the command line (text) or in cdk.json (a number)."""
    if value is None or value == "":
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"context {name} must be a whole number of seconds, got {value!r}") from None


def _streaming_settings(app: cdk.App) -> StreamingSettings:
    """Context for the sessions' streaming workers (validated by StreamingSettings)."""
    return StreamingSettings(
        vocabulary=str(app.node.try_get_context("transcribeVocabulary") or ""),
        partial_stability=str(
            app.node.try_get_context("transcribePartialStability") or constants.TRANSCRIBE_PARTIAL_STABILITY
        ),
        handover_seconds=_whole_seconds(
            "workerHandoverSeconds",
            app.node.try_get_context("workerHandoverSeconds"),
            default=constants.WORKER_HANDOVER_SECONDS,
        ),
    )


@dataclass(frozen=True)
class Deployment:
    """What the CDK context chooses for one environment's deployment."""

    env_name: str
    app_origins: list[str]
    alarm_email: str | None
    manage_log_role: bool
    listener_base_url: str
    translation_tuning: dict[str, str]
    streaming: StreamingSettings
    speaker_grace_seconds: int
    reserve_concurrency: bool
    env: cdk.Environment


class StackCommon(TypedDict):
    """What both stacks of a deployment are given alike."""

    env_name: str
    alarm_email: str | None
    env: cdk.Environment


def _deployment(app: cdk.App) -> Deployment:
    context = app.node.try_get_context
    env_name = context("env") or "dev"
    if env_name not in constants.ENVIRONMENTS:
        raise ValueError(f"context env must be one of {constants.ENVIRONMENTS}, got {env_name!r}")
    origins_context = context("appOrigins")
    app_origins = (
        [o.strip() for o in origins_context.split(",") if o.strip()]
        if isinstance(origins_context, str)
        else list(origins_context or constants.DEFAULT_APP_ORIGINS[env_name])
    )
    log_role_context = context("apiGatewayCloudWatchRole")
    grace_context = context("speakerGraceSeconds")
    return Deployment(
        env_name=env_name,
        app_origins=app_origins,
        alarm_email=context("alarmEmail"),
        manage_log_role=(
            env_name == "dev" if log_role_context is None else str(log_role_context).lower() == "true"
        ),
        listener_base_url=context("listenerBaseUrl") or (app_origins[0] + "/listener" if app_origins else ""),
        translation_tuning={
            env_var: str(value)
            for key, env_var in constants.TRANSLATION_TUNING_CONTEXT.items()
            if (value := context(key))
        },
        streaming=_streaming_settings(app),
        speaker_grace_seconds=(
            constants.SPEAKER_GRACE_SECONDS if grace_context in (None, "") else int(grace_context)
        ),
        # -c reservedConcurrency=false (or 0): no reserved concurrency, for accounts whose
        # concurrency limit cannot spare constants.RESERVED_CONCURRENCY.
        reserve_concurrency=_flag("reservedConcurrency", context("reservedConcurrency"), default=True),
        env=cdk.Environment(account=context("account"), region=context("region")),
    )


def build_app(app: cdk.App) -> tuple[SessionManagementStack, AudioTranscriptionStack]:
    deployment = _deployment(app)
    env_name = deployment.env_name
    common = StackCommon(env_name=env_name, alarm_email=deployment.alarm_email, env=deployment.env)
    sessions = SessionManagementStack(
        app,
        f"LowLatencyTranslate-SessionManagement-{env_name}",
        listener_base_url=deployment.listener_base_url,
        manage_api_gateway_log_role=deployment.manage_log_role,
        speaker_grace_seconds=deployment.speaker_grace_seconds,
        reserve_concurrency=deployment.reserve_concurrency,
        streaming=deployment.streaming,
        **common,
    )
    transcription = AudioTranscriptionStack(
        app,
        f"LowLatencyTranslate-AudioTranscription-{env_name}",
        stage=sessions.gateway.stage,
        management_endpoint=sessions.gateway.management_endpoint,
        sessions=sessions.sessions_table,
        connections=sessions.connections_table,
        app_origins=deployment.app_origins,
        translation_tuning=deployment.translation_tuning,
        reserve_concurrency=deployment.reserve_concurrency,
        **common,
    )
    transcription.add_stack_dependency(sessions)
    for stack in (sessions, transcription):
        cdk.Tags.of(stack).add("project", constants.PROJECT)
        cdk.Tags.of(stack).add("environment", env_name)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return sessions, transcription


if __name__ == "__main__":
    # The CDK CLI sets CDK_OUTDIR; `python app.py` alone writes to cdk.out as well.
    cdk_app = cdk.App(context=constants.FEATURE_FLAGS, outdir=os.environ.get("CDK_OUTDIR", "cdk.out"))
    build_app(cdk_app)
    cdk_app.synth()
