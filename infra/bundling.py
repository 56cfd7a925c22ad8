"""Local (Docker-free) bundling of Python Lambda code and of the ffmpeg layer."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra import constants

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")


def tree_hash(*paths: Path) -> str:
    """Content hash of files and folders, stable across machines and checkouts.

    Used as the asset hash so that CDK reuses a bundle whose inputs did not change
    instead of running pip on every synth."""
    digest = hashlib.sha256()
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(str(file.relative_to(root.parent)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _run(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"bundling failed: {' '.join(command)}\n{completed.stderr[-4000:]}")


@jsii.implements(ILocalBundling)
class PythonFunctionBundling:
    """Copies one function package plus the packages every function shares (lambdas/shared,
    delivery, deployment) and pip-installs its requirements for the Lambda platform
    (manylinux wheels only, no Docker)."""

    def __init__(self, function_dir: Path) -> None:
        self._function_dir = function_dir

    def try_bundle(self, output_dir: str, _options: object) -> bool:
        out = Path(output_dir)
        shutil.copytree(
            self._function_dir, out / self._function_dir.name, ignore=_IGNORED, dirs_exist_ok=True
        )
        for shared in constants.SHARED_CODE_DIRS:
            shutil.copytree(shared, out / shared.name, ignore=_IGNORED, dirs_exist_ok=True)
        requirements = self._function_dir / "requirements.txt"
        if requirements.exists() and requirements.read_text().strip():
            with tempfile.TemporaryDirectory(prefix="wheelhouse-") as wheelhouse:
                _run(_build_wheels(requirements, Path(wheelhouse)))
                _run(_install_for_lambda(requirements, Path(wheelhouse), out))
        return True


def _build_wheels(requirements: Path, wheelhouse: Path) -> list[str]:
    """pip installs only wheels for another platform, and some pure-Python packages ship as
    source only (srt): each requirement is first made a wheel here. The build machine can:
    every function's requirements are dev requirements too. A compiled package's local
    wheel does not match the Lambda platform and is passed over by the install."""
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    return [*pip, "--wheel-dir", str(wheelhouse), "-r", str(requirements)]


def _install_for_lambda(requirements: Path, wheelhouse: Path, target: Path) -> list[str]:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"]
    for platform in constants.PIP_PLATFORMS:
        command += ["--platform", platform]
    python = ["--implementation", "cp", "--python-version", constants.RUNTIME_PYTHON_VERSION]
    sources = ["--only-binary=:all:", "--find-links", str(wheelhouse)]
    return [*command, *python, *sources, "--target", str(target), "-r", str(requirements)]


@jsii.implements(ILocalBundling)
class FfmpegLayerBundling:
    """Builds layers/ffmpeg/bin/ffmpeg from the pinned wheel when it is missing."""

    def try_bundle(self, output_dir: str, _options: object) -> bool:
        _run(["bash", str(constants.FFMPEG_SCRIPT), constants.FFMPEG_ARCH])
        shutil.copytree(constants.FFMPEG_LAYER_DIR / "bin", Path(output_dir) / "bin", dirs_exist_ok=True)
        return True


# Local bundling always succeeds or raises, so this image is never pulled.
_NO_DOCKER = DockerImage.from_registry("local-bundling-only")


def function_code(function_package: str) -> lambda_.Code:
    function_dir = constants.LAMBDAS_DIR / function_package
    return lambda_.Code.from_asset(
        str(function_dir),
        asset_hash_type=AssetHashType.CUSTOM,
        # The target platform is part of the bundle's identity.
        asset_hash=tree_hash(function_dir, *constants.SHARED_CODE_DIRS)
        + f"-{constants.RUNTIME_PYTHON_VERSION}-{constants.FFMPEG_ARCH}",
        bundling=BundlingOptions(
            image=_NO_DOCKER, local=cast(ILocalBundling, PythonFunctionBundling(function_dir))
        ),
    )


def ffmpeg_layer_code() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(constants.FFMPEG_LAYER_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=tree_hash(constants.FFMPEG_SCRIPT),
        bundling=BundlingOptions(image=_NO_DOCKER, local=cast(ILocalBundling, FfmpegLayerBundling())),
    )
