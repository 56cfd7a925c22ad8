"""Where the local tools find the repository's binaries and code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deployment import env_names

ROOT = Path(__file__).resolve().parent.parent


def ffmpeg_path() -> str:
    """The layer's static ffmpeg, built from the pinned wheel when missing."""
    explicit = os.environ.get(env_names.FFMPEG_PATH)
    if explicit:
        return explicit
    binary = ROOT / "layers" / "ffmpeg" / "bin" / "ffmpeg"
    if not binary.exists():
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "download-ffmpeg.sh")],
            check=True,
            env={**os.environ, "PIP": f"{sys.executable} -m pip"},
        )
    return str(binary)
