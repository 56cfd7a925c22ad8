"""Each function bundles for the Lambda platform without Docker, as `make deploy-dev` bundles it:
its package, the shared packages (lambdas/shared, delivery, deployment) and every requirement,
compiled ones built for Lambda's Python.

The stack tests synthesize without bundling; this one runs pip against the package index."""

from __future__ import annotations

import ast
import re
import sys
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


# What every Lambda Python runtime provides itself.
RUNTIME_MODULES = {"boto3", "botocore"}


SHARED_PACKAGES = {directory.name: directory for directory in constants.SHARED_CODE_DIRS}


def _imported_libraries(package: str) -> dict[str, str]:
    """Top-level modules, not the standard library's, that the package's modules import, and
    the modules of the shared packages they reach: library -> one module that imports it."""
    queue, seen, found = sorted((constants.LAMBDAS_DIR / package).glob("*.py")), set(), {}
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in SHARED_PACKAGES:
                folder = SHARED_PACKAGES[node.module]
                queue += [folder / f"{a.name}.py" for a in node.names if (folder / f"{a.name}.py").is_file()]
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in SHARED_PACKAGES:
                    queue.append(constants.LAMBDAS_DIR / (name.replace(".", "/") + ".py"))
                elif top not in {package, "__future__", *sys.stdlib_module_names}:
                    found.setdefault(top, module.name)
    return found


def _installed(bundle: Path) -> dict[str, str]:
    found = {}
    for info in bundle.glob("*.dist-info"):
        name, version = info.name[: -len(".dist-info")].rsplit("-", 1)
        found[canonicalize_name(name)] = version
    return found


@pytest.fixture(scope="module", params=PACKAGES)
def bundled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """(package, its bundle), bundled once for the tests of this module."""
    package = str(request.param)
    bundle = tmp_path_factory.mktemp(package)
    PythonFunctionBundling(constants.LAMBDAS_DIR / package).try_bundle(str(bundle), None)
    return package, bundle


def test_a_function_bundles_its_code_and_every_requirement_for_lambda(bundled: tuple[str, Path]) -> None:
    package, tmp_path = bundled

    assert (tmp_path / package / "handler.py").is_file()
    assert (tmp_path / "shared" / "protocol.py").is_file()
    assert (tmp_path / "delivery" / "notifier.py").is_file()
    assert (tmp_path / "deployment" / "functions.py").is_file()
    installed = _installed(tmp_path)
    for requirement in _requirements(package):
        version = installed.get(canonicalize_name(requirement.name))
        assert version is not None and requirement.specifier.contains(version), (requirement, version)
    python = constants.RUNTIME_PYTHON_VERSION.replace(".", "")
    for extension in tmp_path.rglob("*.so"):
        tag = re.search(r"\.cpython-(\d+)-", extension.name)
        assert tag is None or tag.group(1) == python, extension


def test_every_library_a_function_imports_is_in_its_bundle(bundled: tuple[str, Path]) -> None:
    """A shared module that imports a library (pydantic, aiohttp) is only usable by functions
    whose requirements bring it: checked from the imports, not from the test machine's venv."""
    package, tmp_path = bundled

    missing = {
        library: importer
        for library, importer in _imported_libraries(package).items()
        if library not in RUNTIME_MODULES
        and not (tmp_path / library).is_dir()
        and not (tmp_path / f"{library}.py").is_file()
    }
    assert missing == {}
