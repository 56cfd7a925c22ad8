"""Translator on Amazon Translate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from audio_processor.retry import Retryable, retryable_client_error
from shared.languages import Language


class AwsTranslator:
    """`client` is a boto3 `translate` client with SDK retries off: retries are ours,
    bounded by the invocation's time budget."""

    def __init__(self, client: Any, terminology_names: Sequence[str] = ()) -> None:
        self._client = client
        self._terminologies = list(terminology_names)

    def translate(self, text: str, source: Language, target: Language) -> str:
        request: dict[str, Any] = {
            "Text": text,
            "SourceLanguageCode": source.code,
            "TargetLanguageCode": target.code,
        }
        if self._terminologies:
            request["TerminologyNames"] = self._terminologies
        try:
            return str(self._client.translate_text(**request)["TranslatedText"])
        except Exception as error:
            if retryable_client_error(error):
                raise Retryable(f"translate: {error}") from error
            raise
