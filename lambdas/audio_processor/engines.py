"""Picks the speech engines named by the configuration."""

from __future__ import annotations

import importlib

import boto3
from botocore.config import Config

from audio_processor.aws_synthesizer import AwsSynthesizer
from audio_processor.aws_translator import AwsTranslator
from audio_processor.config import AWS_ENGINES, ProcessorConfig
from audio_processor.ffmpeg_audio import FfmpegAudio
from audio_processor.pipeline import Engines


def build_engines(config: ProcessorConfig, sdk_config: Config) -> Engines:
    if config.engines != AWS_ENGINES:
        module_name, _, factory = config.engines.partition(":")
        built: Engines = getattr(importlib.import_module(module_name), factory)(config)
        return built
    return Engines(
        translator=AwsTranslator(
            boto3.client("translate", region_name=config.region, config=sdk_config),
            terminology_names=config.terminology_names,
        ),
        synthesizer=AwsSynthesizer(boto3.client("polly", region_name=config.region, config=sdk_config)),
        audio=FfmpegAudio(config.ffmpeg_path),
    )
