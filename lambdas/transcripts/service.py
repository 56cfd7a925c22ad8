"""Transcripts people can take home: the recorded utterances of a session in one language
as plain text, SRT (written by `srt`) and WebVTT (written by webvtt-py), stored under the
session's prefix in the translation bucket and handed out as presigned URLs. Knows
nothing of Lambda."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import srt
from webvtt import Caption, WebVTT

from shared import resources
from shared.languages import LANGUAGES
from shared.protocol import ErrorCode, error_message, transcript_ready
from shared.transcript_records import RecordListing, TranscriptRequest, UtteranceRecord

# A stored build is handed out again, without reading a record, for this long; after it,
# while the records' listing is unchanged (no new utterance). docs/ARCHITECTURE.md §8.
TRANSCRIPT_REUSE_SECONDS = 30


class RecordReader(Protocol):
    """A session's utterance records, as the processor stored them."""

    def listing(self, session_id: str) -> RecordListing: ...

    def read(self, listing: RecordListing) -> list[UtteranceRecord]: ...


class FileStore(Protocol):
    def put_file(
        self,
        key: str,
        body: bytes,
        content_type: str,
        download_as: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str: ...

    def url(self, key: str) -> str: ...

    def metadata(self, key: str) -> dict[str, str] | None:
        """The user metadata of a stored file; None when there is none."""
        ...


@dataclass(frozen=True)
class Line:
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class TranscriptFile:
    extension: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Build:
    """What stored files of a transcript were built from (kept as the last file's metadata)."""

    records: str  # RecordListing.fingerprint
    built_at: int
    utterances: int

    def metadata(self) -> dict[str, str]:
        return {"records": self.records, "built-at": str(self.built_at), "utterances": str(self.utterances)}

    @classmethod
    def of(cls, metadata: dict[str, str] | None) -> Build | None:
        try:
            return (
                cls(metadata["records"], int(metadata["built-at"]), int(metadata["utterances"]))
                if metadata
                else None
            )
        except (KeyError, ValueError):
            return None


EXTENSIONS = ("txt", "srt", "vtt")  # written in this order: the last one carries the Build
# The text file's first line, in the transcript's own language: its reader came for that
# language (the listener app's words are translated the same way). Keyed like LANGUAGES.
HEADINGS = {
    "en": "Transcript of session {session} ({language})",
    "es": "Transcripción de la sesión {session} ({language})",
    "fr": "Transcription de la session {session} ({language})",
    "de": "Transkript der Sitzung {session} ({language})",
    "it": "Trascrizione della sessione {session} ({language})",
    "pt": "Transcrição da sessão {session} ({language})",
    "ja": "セッション {session} の文字起こし\uff08{language}\uff09",
    "ko": "세션 {session} 녹취록 ({language})",
    "zh": "会话 {session} 的文字记录\uff08{language}\uff09",
    "hi": "सत्र {session} का प्रतिलेख ({language})",
    "nl": "Transcript van sessie {session} ({language})",
    "ca": "Transcripció de la sessió {session} ({language})",
}


def heading(session_id: str, language: str) -> str:
    """The transcript's heading in `language`, naming the language as its speakers do."""
    known = LANGUAGES.get(language)
    template = HEADINGS.get(language, HEADINGS["en"])
    return template.format(session=session_id, language=known.native_name if known else language)


@dataclass(frozen=True)
class TranscriptReady:
    session_id: str
    language: str
    urls: dict[str, str]  # extension -> presigned GET
    expires_at: int
    utterances: int


def lines_in(records: list[UtteranceRecord], language: str) -> list[Line]:
    """The utterances said or delivered in `language`, in talk order; a cue never
    starts before the previous one (records come from parallel invocations)."""
    lines: list[Line] = []
    for record in sorted(records, key=lambda r: (r.start_ms, r.index)):
        text = record.text_in(language)
        if not text or not text.strip():
            continue
        start = max(record.start_ms, lines[-1].start_ms if lines else 0)
        lines.append(Line(start, max(record.end_ms, start + 1), " ".join(text.split())))
    return lines


def _clock(ms: int) -> str:
    seconds = ms // 1000
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def plain_text(lines: list[Line], heading: str) -> str:
    return heading + "\n\n" + "".join(f"[{_clock(line.start_ms)}] {line.text}\n" for line in lines)


def _vtt_time(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def subtitles(lines: list[Line], fmt: str) -> str:
    """SRT or WebVTT: one cue per utterance on the talk's timeline."""
    if fmt == "srt":
        return str(
            srt.compose(
                srt.Subtitle(
                    n, timedelta(milliseconds=line.start_ms), timedelta(milliseconds=line.end_ms), line.text
                )
                for n, line in enumerate(lines, start=1)
            )
        )
    if fmt == "vtt":
        # Cue text is markup in WebVTT: &, < and > are written as character references.
        captions = [
            Caption(_vtt_time(line.start_ms), _vtt_time(line.end_ms), html.escape(line.text, quote=False))
            for line in lines
        ]
        return str(WebVTT(captions=captions).content)
    raise ValueError(f"no subtitle format {fmt!r}")


def transcript_files(lines: list[Line], heading: str) -> list[TranscriptFile]:
    return [
        TranscriptFile("txt", "text/plain; charset=utf-8", plain_text(lines, heading).encode()),
        TranscriptFile("srt", "application/x-subrip; charset=utf-8", subtitles(lines, "srt").encode()),
        TranscriptFile("vtt", "text/vtt; charset=utf-8", subtitles(lines, "vtt").encode()),
    ]


@dataclass(frozen=True)
class TranscriptService:
    records: RecordReader
    files: FileStore
    url_seconds: int  # how long the presigned URLs of the files last
    clock: Callable[[], float]

    def prepare(self, session_id: str, language: str) -> TranscriptReady | None:
        """The transcript so far; None when nothing was said or delivered in `language`.
        A stored build is reused when it is younger than TRANSCRIPT_REUSE_SECONDS (no S3
        call but one HEAD) or when no record was added since (a LIST, no GET, no PUT)."""
        now = int(self.clock())
        stored = Build.of(self.files.metadata(resources.transcript_key(session_id, language, EXTENSIONS[-1])))
        if stored and now - stored.built_at < TRANSCRIPT_REUSE_SECONDS:
            return self._ready(session_id, language, stored, now)
        listing = self.records.listing(session_id)
        if stored and stored.records == listing.fingerprint:
            return self._ready(session_id, language, stored, now)
        lines = lines_in(self.records.read(listing), language) if listing.keys else []
        if not lines:
            return None
        build = Build(listing.fingerprint, now, len(lines))
        files = {file.extension: file for file in transcript_files(lines, heading(session_id, language))}
        for extension in EXTENSIONS:
            file = files[extension]
            self.files.put_file(
                resources.transcript_key(session_id, language, extension),
                file.body,
                file.content_type,
                download_as=f"{session_id}-{language}.{extension}",
                metadata=build.metadata(),
            )
        return self._ready(session_id, language, build, now)

    def _ready(self, session_id: str, language: str, build: Build, now: int) -> TranscriptReady:
        urls = {
            ext: self.files.url(resources.transcript_key(session_id, language, ext)) for ext in EXTENSIONS
        }
        return TranscriptReady(session_id, language, urls, now + self.url_seconds, build.utterances)


def answer(service: TranscriptService, request: TranscriptRequest) -> dict[str, Any]:
    """The message for the connection that asked: the files, or why there are none."""
    ready = service.prepare(request.session_id, request.language)
    if ready is None:
        return error_message(
            ErrorCode.NO_TRANSCRIPT,
            f"nothing has been said in {request.language} in this session yet",
            action="getTranscript",
            sessionId=request.session_id,
            language=request.language,
        )
    return transcript_ready(ready.session_id, ready.language, ready.urls, ready.expires_at, ready.utterances)
