"""The batcher's ChunkStore for the streaming worker: chunks read by their exact keys.

The worker polls for the next chunk every ~100 ms; a GET by key costs a tenth of a
LIST, and a 404 answers at once, so the live path never waits on S3 event delivery.
Hints from the session item (the highest seq the connection handler accepted, and
whether the session ended) tell it when probing past a missing chunk or reading the
end-of-stream marker is worth a request."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from s3_audio_consumer.batcher import Listing
from shared import resources

MAX_READ_AHEAD = 60  # chunks fetched in one listing (~18 s): a bound on memory
GAP_PROBE = 8  # seqs probed past a missing one, when a later one is known to exist


@dataclass
class Hints:
    last_seq: int = -1
    ended: bool = False


class KeyedChunkStore:
    def __init__(self, s3: Any, bucket: str, clock: Callable[[], float]) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._clock = clock
        self._chunks: dict[int, bytes] = {}
        self._seen: dict[int, float] = {}  # when each chunk was first read: the wait clock
        self._final: tuple[int, float] | None = None
        self.hints = Hints()

    def _get(self, key: str) -> bytes | None:
        try:
            return bytes(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None
            raise

    def _fetch(self, session_id: str, seq: int) -> bool:
        if seq in self._chunks:
            return True
        body = self._get(resources.chunk_key(session_id, seq))
        if body is None:
            return False
        self._chunks[seq] = body
        self._seen[seq] = self._clock()
        return True

    def list_from(self, session_id: str, first_seq: int) -> Listing:
        for seq in [s for s in self._chunks if s < first_seq]:  # consumed: forget it
            del self._chunks[seq], self._seen[seq]
        seq = first_seq
        while seq < first_seq + MAX_READ_AHEAD and self._fetch(session_id, seq):
            seq += 1
        if self.hints.last_seq > seq:  # a chunk is missing, later ones exist: find them
            for later in range(seq + 1, min(seq + GAP_PROBE, self.hints.last_seq) + 1):
                self._fetch(session_id, later)
        if self.hints.ended and self._final is None:
            marker = self._get(resources.end_marker_key(session_id))
            if marker is not None:
                self._final = (int(json.loads(marker)["finalSeq"]), self._clock())
        final_seq, final_at = self._final if self._final else (None, None)
        chunks = {s: self._seen[s] for s in self._chunks if s >= first_seq}
        return Listing(chunks=chunks, final_seq=final_seq, final_marked_at=final_at)

    def read(self, session_id: str, seqs: list[int]) -> dict[int, bytes]:
        for seq in seqs:
            if not self._fetch(session_id, seq):
                raise KeyError(f"chunk {seq} of {session_id} vanished")
        return {seq: self._chunks[seq] for seq in seqs}
