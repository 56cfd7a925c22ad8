"""Runs the product on one machine: moto for AWS state, the real Lambda handlers.

The Lambda packages (shared, chunk_writer, ...) are top-level modules in Lambda, so
the runner puts lambdas/ on the import path exactly as the bundles lay them out."""

import sys
from pathlib import Path

_LAMBDAS = str(Path(__file__).resolve().parent.parent / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.insert(0, _LAMBDAS)
