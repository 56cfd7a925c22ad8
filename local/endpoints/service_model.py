"""What botocore's service models say about one operation: the shape a request must have
and the HTTP status of each error, so that the local endpoints refuse what the real
service refuses, with the codes the SDKs know."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StringShape, StructureShape
from botocore.validate import ParamValidator


@dataclass(eq=False)  # not frozen: raising sets attributes such as __traceback__
class ServiceError(Exception):
    """An error answer: its code (`__type` / `x-amzn-ErrorType`), message and status;
    `fields` are the error shape's other members (UnsupportedLanguagePairException's codes)."""

    code: str
    message: str
    status: int
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One operation of a botocore service model, and the error codes an endpoint answers
    for it. `unmodeled` are codes the real service answers that the model does not name
    (code -> status); each endpoint says what it bases them on."""

    model: OperationModel
    answers: frozenset[str]
    unmodeled: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        service: str,
        operation: str,
        answers: Collection[str],
        unmodeled: Mapping[str, int] | None = None,
    ) -> Operation:
        model = botocore.session.get_session().get_service_model(service).operation_model(operation)
        return cls(model, frozenset(answers), dict(unmodeled or {}))

    def modeled_errors(self) -> dict[str, int]:
        return {
            shape.name: int(shape.metadata["error"]["httpStatusCode"]) for shape in self.model.error_shapes
        }

    def error(self, code: str, message: str, **fields: str) -> ServiceError:
        # An endpoint may answer only the codes it declares (tests check them against the model).
        if code not in self.answers:
            raise LookupError(f"{self.model.name} does not declare the error {code}")
        status = self.modeled_errors().get(code) or self.unmodeled[code]
        return ServiceError(code, message, status, fields)

    def shape_problems(self, params: Mapping[str, Any]) -> str | None:
        """Why `params` do not fit the operation's input shape, or None: what botocore's
        ParamValidator checks (required members, types, minimum lengths and ranges) plus
        the enums and maximum lengths the model declares, which it leaves to the service.
        Members the model does not know are ignored, as the services ignore them (a guess:
        their JSON readers skip unknown fields). Patterns are not checked: the models write
        them in Java's regex dialect."""
        shape = self.model.input_shape
        known = _known_members(dict(params), shape)
        report = ParamValidator().validate(known, shape)
        problems = [report.generate_report()] if report.has_errors() else []
        problems += _constraint_problems(known, shape, "input")
        return "\n".join(problems) or None


def _known_members(value: Any, shape: Shape) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {k: _known_members(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_known_members(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: _known_members(v, shape.value) for k, v in value.items()}
    return value


def _constraint_problems(value: Any, shape: Shape, name: str) -> list[str]:
    problems: list[str] = []
    maximum = shape.metadata.get("max")
    if isinstance(shape, StringShape) and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"Value {value!r} at {name!r} failed to satisfy constraint: enum {shape.enum}")
        if maximum is not None and len(value) > maximum:
            problems.append(f"Value at {name!r} failed to satisfy constraint: length <= {maximum}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        if maximum is not None and len(value) > maximum:
            problems.append(f"Value at {name!r} failed to satisfy constraint: at most {maximum} items")
        for n, item in enumerate(value):
            problems += _constraint_problems(item, shape.member, f"{name}[{n}]")
    elif isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            problems += _constraint_problems(item, shape.members[key], f"{name}.{key}")
    return problems
