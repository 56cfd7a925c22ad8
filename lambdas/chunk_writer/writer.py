"""Stores one MediaRecorder chunk, or the end-of-stream marker, under the session prefix."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from shared import resources
from shared.chunk_events import EndOfStreamEvent, InvalidWriterEvent, writer_event

EBML_MAGIC = bytes.fromhex("1A45DFA3")
MAX_CHUNK_BYTES = 32 * 1024


class RejectedChunk(ValueError):
    """The chunk is malformed; it is logged and counted, never stored."""


@dataclass(frozen=True)
class ChunkWriter:
    s3: Any
    bucket: str

    def write(self, event: dict[str, Any]) -> str:
        try:
            unit = writer_event(event)
        except InvalidWriterEvent as error:
            raise RejectedChunk(str(error)) from error
        if isinstance(unit, EndOfStreamEvent):
            key = resources.end_marker_key(unit.session_id)
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps({"finalSeq": unit.final_seq}).encode(),
                ContentType="application/json",
            )
            return key
        seq = unit.seq
        try:
            audio = base64.b64decode(unit.data, validate=True)
        except (binascii.Error, ValueError) as error:
            raise RejectedChunk(f"chunk {seq} is not valid base64") from error
        if not audio or len(audio) > MAX_CHUNK_BYTES:
            raise RejectedChunk(f"chunk {seq} has {len(audio)} bytes (1..{MAX_CHUNK_BYTES})")
        if seq == 0 and not audio.startswith(EBML_MAGIC):
            raise RejectedChunk("chunk 0 does not start with the EBML magic (not a WebM stream start)")
        key = resources.chunk_key(unit.session_id, seq)
        # Retries of the same chunk write the same key with the same bytes.
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=audio, ContentType="audio/webm")
        return key
