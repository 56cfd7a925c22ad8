"""Amazon Translate's TranslateText on 127.0.0.1, backed by Apertium, for the unchanged
AwsTranslator and a stock boto3 `translate` client (`AWS_ENDPOINT_URL_TRANSLATE`).

The wire protocol is awsJson1.1, which botocore speaks to Translate: `POST /` with
`X-Amz-Target: AWSShineFrontendService_20170701.TranslateText`, errors as a non-2xx JSON
body `{"__type": code, "Message": ...}`. The request is held to botocore's model of the
operation (local.endpoints.service_model); then the text's size, the pair and the engine.

What it cannot know: translation quality (Apertium is rule-based, gist quality), the
service's quotas and throttling, Amazon Comprehend's language detection (`auto`), and
custom terminologies: the names are accepted and reported in AppliedTerminologies with no
terms, because no terminology data is stored locally. Settings (formality, profanity,
brevity) are checked against the model but not applied, so AppliedSettings is absent.
Signatures are not verified: any credentials pass."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from local.endpoints.service_model import Operation, ServiceError
from local.endpoints.threaded import threaded_app
from local.engines.apertium import route
from shared.languages import LANGUAGES, Language

logger = logging.getLogger("local.translate")

TARGET = "AWSShineFrontendService_20170701.TranslateText"
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_TEXT_BYTES = 10_000  # TranslateText's limit, in UTF-8 bytes (Amazon Translate quotas)

INVALID_REQUEST = "InvalidRequestException"
TEXT_TOO_LONG = "TextSizeLimitExceededException"
UNSUPPORTED_PAIR = "UnsupportedLanguagePairException"
INTERNAL = "InternalServerException"
# Every code this endpoint answers; all are in the model's error shapes for TranslateText.
ERROR_CODES = (INVALID_REQUEST, TEXT_TOO_LONG, UNSUPPORTED_PAIR, INTERNAL)


def operation() -> Operation:
    return Operation.load("translate", "TranslateText", ERROR_CODES)


class TextTranslator(Protocol):
    def translate(self, text: str, source: Language, target: Language) -> str: ...


def apertium_serves(source: str, target: str) -> bool:
    return route(source, target) is not None


@dataclass(frozen=True)
class TranslateTextRequest:
    text: str
    source: Language
    target: Language
    terminology_names: tuple[str, ...] = ()


@dataclass
class TranslateService:
    """The endpoint's core, without HTTP: `parse` a request, then `answer` it (blocking)."""

    translator: TextTranslator
    serves: Callable[[str, str], bool] = apertium_serves
    operation: Operation = field(default_factory=operation)

    def parse(self, target: str, body: bytes) -> TranslateTextRequest:
        error = self.operation.error
        # Framework-level faults (an unknown operation, a body that is not JSON) are answered
        # by the real service with codes the model does not name (UnknownOperationException,
        # SerializationException); here they are InvalidRequestException, which the model does.
        if target != TARGET:
            raise error(INVALID_REQUEST, f"this endpoint serves only {TARGET}, not {target or 'nothing'}")
        try:
            params = json.loads(body or b"{}")
        except ValueError as bad:
            raise error(INVALID_REQUEST, f"the body is not JSON: {bad}") from bad
        if not isinstance(params, dict):
            raise error(INVALID_REQUEST, "the body is not a JSON object")
        text = params.get("Text")
        if isinstance(text, str) and len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise error(TEXT_TOO_LONG, f"the text is over {MAX_TEXT_BYTES} bytes of UTF-8")
        problems = self.operation.shape_problems(params)
        if problems:
            raise error(INVALID_REQUEST, problems)
        names = tuple(params.get("TerminologyNames") or ())
        if len(names) > 1:  # "You can use one custom terminology resource in your translation request."
            raise error(INVALID_REQUEST, "only one terminology can be applied to a request")
        source, target_code = params["SourceLanguageCode"], params["TargetLanguageCode"]
        if source == "auto":  # as in a region without Amazon Comprehend: nothing detects locally
            raise error(INVALID_REQUEST, "autodetect is not supported by the local endpoint")
        if source not in LANGUAGES or target_code not in LANGUAGES or not self.serves(source, target_code):
            raise error(
                UNSUPPORTED_PAIR,
                f"Unsupported language pair: {source} to {target_code}",
                SourceLanguageCode=source,
                TargetLanguageCode=target_code,
            )
        return TranslateTextRequest(params["Text"], LANGUAGES[source], LANGUAGES[target_code], names)

    def answer(self, request: TranslateTextRequest) -> dict[str, Any]:
        try:
            translated = self.translator.translate(request.text, request.source, request.target)
        except Exception as failure:
            logger.exception("translation failed")
            raise self.operation.error(INTERNAL, f"the local translator failed: {failure}") from failure
        response: dict[str, Any] = {
            "TranslatedText": translated,
            "SourceLanguageCode": request.source.code,
            "TargetLanguageCode": request.target.code,
        }
        if request.terminology_names:
            response["AppliedTerminologies"] = [
                {"Name": name, "Terms": []} for name in request.terminology_names
            ]
        return response


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4())},
    )


def error_response(error: ServiceError) -> web.Response:
    return _json({"__type": error.code, "Message": error.message, **error.fields}, error.status)


@dataclass(frozen=True)
class TranslateEndpoint:
    """The HTTP side: TranslateText at `POST /`, answered no sooner than `floor_ms`."""

    service: TranslateService
    floor_ms: float = 0.0

    def app(self) -> web.Application:
        return threaded_app("/", self.respond, self.floor_ms, "local-translate")

    def respond(self, headers: Mapping[str, str], body: bytes) -> web.Response:
        try:
            return _json(self.service.answer(self.service.parse(headers.get("X-Amz-Target", ""), body)))
        except ServiceError as error:
            return error_response(error)
