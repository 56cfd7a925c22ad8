"""The segmenter's ChunkStore for the streaming worker: chunks read by their exact keys.

The worker polls for the next chunk every ~100 ms; a GET by key costs a tenth of a
LIST, and a 404 answers at once, so the live path never waits on S3 event delivery.
Hints from the session item tell it what exists:
- `last_seq`, the highest seq the connection handler accepted: chunks up to it are
  read in parallel (a backlog after a crash or a reconnect: `read_ahead` GETs at once,
  never a long run of sequential ones that would starve the lease), and past it one
  GET a poll (the next chunk of a live talk);
- a missing chunk with later ones accepted is a gap: the first chunks after it are
  found with one LIST (at most once a `gap_list_interval_s`), however far they are,
  so a gap of any length is waited for and skipped, never mistaken for the end;
- `final_seq`, the talk's last chunk once the session item says it is over (ended, or
  past its maximum length): the end of the talk needs no marker object."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from s3_audio_consumer.planner import Listing
from shared import resources

READ_AHEAD = 16  # chunks (~5 s) read at once: bounds memory and the time between two beats
GAP_LIST_INTERVAL_S = 1.0


@dataclass
class Hints:
    last_seq: int = -1
    final_seq: int | None = None  # set once the talk is over


class KeyedChunkStore:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        clock: Callable[[], float],
        read_ahead: int = READ_AHEAD,
        gap_list_interval_s: float = GAP_LIST_INTERVAL_S,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._clock = clock
        self.read_ahead = read_ahead
        self._gap_list_interval_s = gap_list_interval_s
        self._pool = ThreadPoolExecutor(max_workers=8)
        self._chunks: dict[int, bytes] = {}
        self._seen: dict[int, float] = {}  # when each chunk was first read: the wait clock
        self._final_at: float | None = None
        self._listed_at = float("-inf")
        self.hints = Hints()
        self.lists = 0  # LIST requests made (the bench's S3 cost)

    def _get(self, key: str) -> bytes | None:
        try:
            return bytes(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None
            raise

    def _fetch_all(self, session_id: str, seqs: list[int]) -> None:
        wanted = [seq for seq in seqs if seq not in self._chunks]
        keys = [resources.chunk_key(session_id, seq) for seq in wanted]
        for seq, body in zip(wanted, self._pool.map(self._get, keys), strict=True):
            if body is not None:
                self._chunks[seq] = body
                self._seen[seq] = self._clock()

    def list_from(self, session_id: str, first_seq: int) -> Listing:
        for seq in [s for s in self._chunks if s < first_seq]:  # consumed: forget it
            del self._chunks[seq], self._seen[seq]
        end = first_seq + self.read_ahead
        self._fetch_all(session_id, list(range(first_seq, min(end, self.hints.last_seq + 1))))
        seq = first_seq
        while seq in self._chunks:
            seq += 1
        while seq < end and seq > self.hints.last_seq:  # the live edge: the next chunk, one GET
            self._fetch_all(session_id, [seq])
            if seq not in self._chunks:
                break
            seq += 1
        if seq < self.hints.last_seq and not any(s > seq for s in self._chunks):
            self._find_after_gap(session_id, seq)
        return Listing(
            chunks={s: self._seen[s] for s in self._chunks if s >= first_seq},
            final_seq=self.hints.final_seq,
            final_marked_at=self._final_marked_at(),
        )

    def _find_after_gap(self, session_id: str, missing: int) -> None:
        """Chunk `missing` is absent and later ones were accepted beyond the read-ahead:
        one LIST finds the first of them, however long the gap."""
        now = self._clock()
        if now - self._listed_at < self._gap_list_interval_s:
            return
        self._listed_at = now
        self.lists += 1
        page = self._s3.list_objects_v2(
            Bucket=self._bucket,
            Prefix=resources.chunk_prefix(session_id),
            StartAfter=resources.chunk_key(session_id, missing),
            MaxKeys=self.read_ahead,
        )
        found = [resources.parse_chunk_key(item["Key"]) for item in page.get("Contents", [])]
        self._fetch_all(session_id, [key.seq for key in found if key is not None and key.seq is not None])

    def _final_marked_at(self) -> float | None:
        if self.hints.final_seq is None:
            return None
        if self._final_at is None:
            self._final_at = self._clock()  # the wait for chunks the end named starts now
        return self._final_at

    def read(self, session_id: str, seqs: list[int]) -> dict[int, bytes]:
        self._fetch_all(session_id, seqs)
        missing = [seq for seq in seqs if seq not in self._chunks]
        if missing:
            raise KeyError(f"chunks {missing} of {session_id} vanished")
        return {seq: self._chunks[seq] for seq in seqs}
