"""Each function bundles for the Lambda platform without Docker, as `make deploy-dev` bundles it:
its package, lambdas/shared and every requirement, compiled ones built for Lambda's Python.

The stack tests synthesize without bundling; this one runs pip against the package index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra import constants
from infra.bundling import PythonFunctionBundling

PACKAGES = sorted(p.parent.name for p in constants.LAMBDAS_DIR.glob("*/handler.py"))


def _requirements(package: str) -> list[Requirement]:
    lines = (constants.LAMBDAS_DIR / package / "requirements.txt").read_text().splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def _installed(bundle: Path) -> dict[str, str]:
    found = {}
    for info in bundle.glob("*.dist-info"):
        name, version = info.name[: -len(".dist-info")].rsplit("-", 1)
        found[canonicalize_name(name)] = version
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_a_function_bundles_its_code_and_every_requirement_for_lambda(package: str, tmp_path: Path) -> None:
    PythonFunctionBundling(constants.LAMBDAS_DIR / package).try_bundle(str(tmp_path), None)

    assert (tmp_path / package / "handler.py").is_file()
    assert (tmp_path / "shared" / "protocol.py").is_file()
    installed = _installed(tmp_path)
    for requirement in _requirements(package):
        version = installed.get(canonicalize_name(requirement.name))
        assert version is not None and requirement.specifier.contains(version), (requirement, version)
    python = constants.RUNTIME_PYTHON_VERSION.replace(".", "")
    for extension in tmp_path.rglob("*.so"):
        tag = re.search(r"\.cpython-(\d+)-", extension.name)
        assert tag is None or tag.group(1) == python, extension
