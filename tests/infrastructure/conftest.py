"""Synthesize both stacks once per test session, without bundling assets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from app import build_app
from audio_transcription.stack import AudioTranscriptionStack
from infra import constants
from session_management.stack import SessionManagementStack


@dataclass
class Synthesized:
    sessions_stack: SessionManagementStack
    transcription_stack: AudioTranscriptionStack
    sessions: Template
    transcription: Template
    outdir: Path


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(
        outdir=str(outdir),
        context={
            **constants.FEATURE_FLAGS,
            "env": "dev",
            "aws:cdk:bundling-stacks": [],
            "translateTerminologies": "event-glossary",
        },
    )
    sessions_stack, transcription_stack = build_app(app)
    app.synth()
    return Synthesized(
        sessions_stack=sessions_stack,
        transcription_stack=transcription_stack,
        sessions=Template.from_stack(sessions_stack),
        transcription=Template.from_stack(transcription_stack),
        outdir=outdir,
    )
