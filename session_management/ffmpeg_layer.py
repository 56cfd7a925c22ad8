"""Lambda layer with a static ffmpeg at /opt/bin/ffmpeg."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants
from infra.bundling import ffmpeg_layer_code


class FfmpegLayer(Construct):
    """Each stack that needs ffmpeg has its own (a layer version cannot be shared across
    stacks without an export); `name` keeps their layer names apart."""

    def __init__(self, scope: Construct, construct_id: str, *, env_name: str, name: str = "ffmpeg") -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            layer_version_name=f"{name}-{env_name}",
            description="Static ffmpeg 7.0.2 from imageio-ffmpeg 0.7.0 (WebM/Opus decode, MP3 encode)",
            code=ffmpeg_layer_code(),
            compatible_runtimes=[constants.RUNTIME],
            compatible_architectures=[constants.ARCHITECTURE],
        )
