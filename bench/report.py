"""docs/BENCHMARKS.md from one run's results (bench/measuring.py), a section at a time."""

from __future__ import annotations

from typing import Any


def _fit_rows(r: dict[str, Any]) -> str:
    rows = []
    for language, fit in r.get("clip_fit_by_language", {}).items():
        natural, fitted = fit["natural"], fit["fitted"]
        rows.append(
            f"| {language} | {natural['p50']} / {natural['p95']} / {natural['max']} "
            f"| {fitted['p50']} / {fitted['p95']} / {fitted['max']} | {fitted['n']} |"
        )
    return "\n".join(rows)


def _quality_rows(r: dict[str, Any]) -> str:
    return "\n".join(
        f"| {cut} | {q['pieces']} | {q['source_wer']} | {q['bleu_es']} | {q['chrf_es']} | {q['bleu_fr']} | {q['chrf_fr']} |"
        for cut, q in r["caption_quality"].items()
    )


def cloudfront_note(r: dict[str, Any]) -> str:
    d = r.get("clip_delivery_5000_listeners")
    if not d:
        return ""
    return (
        f"Clip downloads at 5,000 listeners: ${d['s3_direct']:.2f} per session-hour from S3 directly, "
        f"${d['cloudfront']:.2f} through CloudFront (its per-request price outweighs its cheaper bytes for "
        f"~24 KB clips): CloudFront would not save money, so it is not built (COSTS.md)."
    )


def simulated_fanout_section(r: dict[str, Any]) -> str:
    sim = r.get("fanout_sim")
    if not sim:
        return ""
    rows = "\n".join(
        f"| {design} | {v['listeners']:,} | {v['ms_p50']} | {v['peak_in_flight']} | {v['gone']} | {v['pages']} | {v['cpu_ms_per_post']} |"
        for design in ("paged", "one_sender")
        for v in (sim[k] for k in sorted(sim) if k.startswith(design + "_"))
    )
    return f"""## 6b. Fan-out with AWS's timing (simulated management API)

`bench/fanout_sim.py`: one clip to N listeners of one language through the product's sender, against
`local/management_sim.py` (its own process), which answers each post after {sim["delay_ms"]:.0f} ms and 410 for
{sim["gone_percent"]:.0f} % of the connections. **paged** is what ships: the processor posts the first page of
{sim["page_size"]:,}, and each further page is posted by a warm fan-out "invocation" (a worker process here,
running the real `fanout.handler`), all at once; **one_sender** posts everything from the processor's one
asyncio client. {sim["in_flight_per_sender"]} posts in flight per sender. Clip ready → last post answered, median
of {sim["runs"]} run(s):

| design | listeners | ms | peak posts in flight | answered 410 | pages | sender CPU per post, ms |
|---|---|---|---|---|---|---|
{rows}

On this machine every sender and the endpoint share 2 cores, so the 5,000-listener figure is CPU-bound: ~0.4 ms of
CPU per post, times 5,000 posts, on 2 cores. On AWS each fan-out invocation has a vCPU of its own (1,769 MB), so 5,000
listeners take about one page's time (the 1,000 row) plus a synchronous invoke; see ARCHITECTURE.md §9."""


def _preamble(r: dict[str, Any]) -> str:
    return f"""# Benchmarks

Written by `python -m bench.run{" --quick" if r["mode"] == "quick" else ""}` (`make bench{"-quick" if r["mode"] == "quick" else ""}`) on {r["date"]};
raw figures in `bench/results/{r["date"]}{"-quick" if r["mode"] == "quick" else ""}.json`. Machine: **{r["machine"]}**. Mode: {r["mode"]}
({r["repeats"]} run(s) per figure, the median is reported; capture `{r["capture"]}`). Benchmarks are never
part of `make test`. Ratios compare figures of this one run. The live path is **utterance streaming**: one
recognition stream per session, the utterance (cut at a pause) as the unit of translation and speech. The
fixed 3 s batch figures of 2026-11-22 are kept in `bench/results/2026-11-22.json` for comparison.
{("_" + r["concurrency_rerun_note"] + "._") if r.get("concurrency_rerun_note") else ""}

"""


def _pair(r: dict[str, Any], key: str) -> str:
    """A published figure's median / p95, or a dash for a run made before it existed."""
    if f"{key}_p50" not in r:
        return "—"
    return f"{r[f'{key}_p50']:.0f} / {r[f'{key}_p95']:.0f} ms"


def _headlines(r: dict[str, Any]) -> str:
    return f"""## Headlines

{("**Note.** " + r["machine_note"]) if r.get("machine_note") else ""}

| figure | value | before (3 s batches, 2026-11-22) |
|---|---|---|
| utterance end → caption (`translatedText`), local, 1 language (median / p95) | {_pair(r, "utterance_to_caption_ms")} | the caption came with the voice: 2.9 / 3.6 s (2026-12-04) |
| utterance end → voice (`translatedAudio`), local, 1 language (median / p95) | {r["utterance_to_message_ms_p50"]:.0f} / {r["utterance_to_message_ms_p95"]:.0f} ms | batch end → message 1169 / 1388 ms, but a word waited up to 3 s more for its batch |
| an utterance's first word → its caption, local, 1 language (median / p95) | {_pair(r, "first_word_to_caption_ms")} | ~7 s (2026-12-04) |
| each word → its first caption, provisional or final, local, 1 language (median / p95) | {_pair(r, "word_to_caption_ms")} | ~7 s at an utterance's first word, ~3 s at its last (2026-12-04) |
| recognition requests per session-hour | {r["recognition_streams_per_session_hour"]} | 1,200 |
| cost per session-hour, 1 / 3 languages (100 listeners) | ${r["cost_usd_per_session_hour_1lang"]:.2f} / ${r["cost_usd_per_session_hour_3lang"]:.2f} | $8.47 / $11.50 |
| clip length / source length as delivered (median / p95 / max) | {r["clip_fit_ratio_p50"]} / {r["clip_fit_ratio_p95"]} / {r["clip_fit_ratio_max"]} | not fitted |
| fan-out to 1000 listeners (first → last listener) | {r["fanout_1000_ms"]} ms | 1185.7 ms |
| fan-out to 1,000 / 5,000 listeners, AWS timing simulated (40 ms a post), clip ready → last post answered | {r.get("fanout_1000_simulated_ms", "—")} / {r.get("fanout_5000_simulated_ms", "—")} ms (peak {r.get("fanout_5000_simulated_peak_in_flight", "—")} posts in flight) | 5,000: not possible (500 listeners at most) |

"""


def _ingestion(r: dict[str, Any]) -> str:
    return f"""## 1. Ingestion (`s3_audio_consumer`'s exact decoder)

{r["consumer_batches_per_run"]} segments of a real capture per run, moto S3/DynamoDB in process: reads,
EBML parsing, the conditional cursor write and the ffmpeg decode. Median {r["consumer_ms_p50"]} ms, p95
{r["consumer_ms_p95"]} ms per segment. The streaming worker feeds the recognizer with these segments.

"""


def _speech_engines(r: dict[str, Any]) -> str:
    stage_rows = "\n".join(
        f"| {s} | {v['p50']:.0f} | {v['p95']:.0f} |" for s, v in r["stages_ms"].items() if s != "transcribe"
    )
    engine = r["engines"]
    engine_rows = "\n".join(
        f"| {code} | {engine['translate_ms'].get(code, {}).get('p50', '—')} | {engine['tts_ms'][code]['p50']} |"
        for code in engine["tts_ms"]
    )
    return f"""## 2. Speech engines, local

Whisper base int8 on 2 threads, in a 10 s encoder window (the 30 s window cost a fixed ~1.5 s per utterance on
this machine; docs/ARCHITECTURE.md has the candidates measured); Apertium; Piper for English, espeak-ng otherwise, each voice including the MP3 encode. ASR per piece:
median {engine["asr_ms"]["p50"]} ms, p95 {engine["asr_ms"]["p95"]} ms.

| language | translate ms (median) | speak + MP3 ms (median) |
|---|---|---|
{engine_rows}

Inside the audio_processor during the end-to-end runs (ms per utterance; translate and synthesize add up over
languages; *synthesize* includes the clip fit):

| stage | median | p95 |
|---|---|---|
{stage_rows}

![stages](images/bench-stages.png)

"""


def _cell(row: dict[str, Any], metric: str) -> str:
    figure = row.get(metric)
    return f"{figure['p50']:.0f} / {figure['p95']:.0f}" if figure else "—"


def _end_to_end(r: dict[str, Any]) -> str:
    e2e_rows = "\n".join(
        f"| {n} | {_cell(v, 'caption_ms')} | {_cell(v, 'message_ms')} | {_cell(v, 'playable_ms')} "
        f"| {_cell(v, 'first_word_to_caption_ms')} | {_cell(v, 'from_batch_start_ms')} "
        f"| {_cell(v, 'word_to_caption_ms')} |"
        for n, v in r["e2e_by_languages"].items()
    )
    utt = r["utterance_ms"]
    return f"""## 3. End to end, local

A speaker client streams the capture at the pace Chromium recorded it; one listener per language.
*To caption*: from the moment the speaker sent the chunk that completes an utterance's audio to the
`translatedText` at the listener; *to voice*: to the `translatedAudio`. *To playable*: plus the clip's first byte.
*First word →*: from the utterance's first chunk (its first word waits longest). Utterances were
{utt["p50"]:.0f} ms long (median; p95 {utt["p95"]:.0f} ms).

| languages | to caption, ms (median / p95) | to voice | to playable | first word → caption | first word → voice | each word → its first caption |
|---|---|---|---|---|---|---|
{e2e_rows}

![end to end](images/bench-e2e.png)

*Each word → its first caption*: for every word, when the first caption holding it reached the listener
(a provisional caption of a stable clause, or the final caption) minus when the chunk holding the word's end left
the speaker; word times are spread evenly over their utterance (docs/ARCHITECTURE.md §15). Over the talk, one run,
1 language:

![word lag](images/bench-word-lag.png)

The benches run the in-process recognizer (`RECOGNIZER=local.engines.streaming:build`): `make local` runs the
production Transcribe adapter against the local endpoint, whose AWS-like result lag (1 s floor) would add to every
figure here; `RECOGNIZER=aws python -m bench.run` measures that path. Locally an utterance waits for 300 ms of
silence, then Whisper transcribes it (10 s encoder window, ~0.35 s), then Apertium and the voice run: the local
figure is the offline engines' floor, not the product's on AWS, where Transcribe's results come while the speaker
talks (not measured here: no account).

"""


def _keeps_time(r: dict[str, Any]) -> str:
    return f"""## 4. Speech that keeps time

Clip length / source length per language, at the voice's own pace (*natural*) and as delivered after the fit
(voice rate from the learned pace, trim, `atempo`; at most 1.3 times faster). Median / p95 / max:

| language | natural | delivered | clips |
|---|---|---|---|
{_fit_rows(r)}

"""


def _caption_quality(r: dict[str, Any]) -> str:
    return f"""## 5. Caption quality

Against human reference translations committed with the capture, the same Whisper base + Apertium engines,
sacrebleu on the whole talk (`python -m bench.quality --capture {r["capture"]}`):

| cut | pieces | source WER | BLEU es | chrF es | BLEU fr | chrF fr |
|---|---|---|---|---|---|---|
{_quality_rows(r)}

"""


def _fanout(r: dict[str, Any]) -> str:
    fan_rows = "\n".join(
        f"| {n} | {v['first_to_last_ms_p50']} | {v['processor_deliver_ms_p50']} | {v['messages_per_second']} | {v['clips_reaching_all']}/{v['clips']} |"
        for n, v in r["fanout"].items()
    )
    return f"""## 6. Fan-out

N listeners in one language on the local gateway (each a WebSocket client of this machine); the audio_processor
posts through the product's sender (`delivery/fanout.py`: asyncio, SigV4-signed, 250 posts in flight; pages of
1,000 beyond the first go to the fan-out function).

| listeners | first → last listener, ms | processor send time, ms | messages/s | clips to all |
|---|---|---|---|---|
{fan_rows}

![fan-out](images/bench-fanout.png)

{simulated_fanout_section(r)}

"""


def _concurrency(r: dict[str, Any]) -> str:
    conc_rows = "\n".join(
        f"| {s['sessions']} | {s.get('p50', '—')} | {s.get('p95', '—')} |" for s in r["concurrency"]["steps"]
    )
    return f"""## 7. Concurrency

Sessions in parallel (each: one speaker streaming `en-welcome`, one Spanish listener), doubling until the median
latency to message doubles. Every session's Whisper shares the same two cores: this measures the machine.

| sessions | to message, ms (median) | p95 |
|---|---|---|
{conc_rows}

{("_" + r["concurrency_rerun_note"] + "._") if r.get("concurrency_rerun_note") else ""}

"""


def _costs(r: dict[str, Any]) -> str:
    cost_rows = "\n".join(
        f"| {line} | {r['costs']['1'][line]:.3f} | {r['costs']['3'][line]:.3f} | {r['costs']['3_1000_listeners'][line]:.3f} "
        f"| {r['costs'].get('3_5000_listeners', {}).get(line, float('nan')):.3f} "
        f"| {r['costs']['batches_1'][line]:.3f} | {r['costs']['batches_3'][line]:.3f} |"
        for line in r["costs"]["1"]
    )
    return f"""## 8. Cost model

`bench/cost.py` (tested in `tests/bench/test_cost_model.py`); prices and assumptions in [COSTS.md](COSTS.md).
USD per session-hour, 100 listeners unless said:

| line | 1 language | 3 languages | 3 languages, 1000 listeners | 3 languages, 5000 listeners | 1 language, 3 s batches | 3 languages, 3 s batches |
|---|---|---|---|---|---|---|
{cost_rows}

![cost](images/bench-cost.png)

{cloudfront_note(r)}

One Transcribe stream per session (handed over every 12 minutes: 5 per hour) bills the audio once; the 3 s
batches billed 15 s per 3 s. The seed claimed $1.52 per session-hour.
"""


def _fault_row(f: dict[str, Any]) -> str:
    idle = f["worker_lambda_s_per_idle_hour"]
    lambda_s = f"{f['worker_lambda_s']}" + (f" ({idle} per idle hour)" if idle else "")
    cells = (
        f["scenario"], f["speech_lost_s"], f["speech_reported_missing_s"], f["speech_doubled"],
        f["index_holes"], f["resent_to_ledger"], f["recovery_s_max"] or "-",
        f["transcribe_billed_s_per_talk_s"], lambda_s,
    )  # fmt: skip
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _faults(r: dict[str, Any]) -> str:
    if "faults" not in r:
        return ""
    rows = "\n".join(_fault_row(f) for f in r["faults"])
    return f"""
## The session worker under faults

`python -m bench.faults` (also in `make bench`): each scenario of `tests/unit/s3_audio_consumer/test_worker_faults.py` on the world
of `local/kit/worker_world.py`: the real worker, lease, cursor and chunk store on moto with real ffmpeg and the
79 s keynote capture, a Transcribe-like stream (stream start 1.5 s, partial results 1 s after their audio, finals
at pauses, a 1 s close flush), S3 GETs of 80 ms, 3 s cold starts, the chunk writer's kick and the worker watch.
Speech lost is audio in no delivered utterance and in no reported gap (the last word's granularity is 0.5 s);
doubled is utterances reaching listeners whose audio overlaps; re-sent is hand-offs the processor's ledger dropped.

Headlines: `faults_speech_lost_s_max` **{r["faults_speech_lost_s_max"]} s**, `faults_duplicates`
**{r["faults_duplicates"]}**, `faults_recovery_s_p95` **{r["faults_recovery_s_p95"]} s** (documented bound 21 s,
ARCHITECTURE §6).

| scenario | speech lost (s) | reported missing (s) | doubled | index holes | re-sent to ledger | longest recovery (s) | Transcribe-billed s per s of talk | worker Lambda s |
|---|---|---|---|---|---|---|---|---|
{rows}
"""


def _long_talk(r: dict[str, Any]) -> str:
    talk = r.get("long_talk")
    if not talk:
        return ""
    stages = ("translate", "synthesize", "store", "deliver", "total")
    rows = []
    for window, latency in talk["latency_by_window"].items():
        times = talk["stages_by_window"].get(window, {})
        stage_cells = " | ".join(f"{times[s]:.0f}" if s in times else "—" for s in stages)
        rows.append(
            f"| {window} | {latency.get('caption_ms', {}).get('n', 0)} | {_cell(latency, 'transcript_ms')} "
            f"| {_cell(latency, 'caption_ms')} | {_cell(latency, 'voice_ms')} | {stage_cells} |"
        )
    table = "\n".join(rows)
    return f"""## 3b. A long talk

`{talk["capture"]}` (15 minutes of one speaker, one Spanish listener) through the local stack at its recorded pace,
grouped by where each utterance starts (windows of {talk["window_s"]} s): utterance end → the speaker's
`transcript` (the recognizer's and the worker's part: the processor sends it first), → caption and → voice at the
listener (ms, median / p95), and the processor's stage times (median ms). A stage whose time grows with the talk
shows here (`python -m bench.long_talk`).

| window | utterances | to transcript | to caption | to voice | {" | ".join(stages)} |
|---|---|---|---|---|{"---|" * len(stages)}
{table}

"""


def markdown(results: dict[str, Any]) -> str:
    """docs/BENCHMARKS.md from one run's results, a section at a time."""
    sections = (
        _preamble,
        _headlines,
        _ingestion,
        _speech_engines,
        _end_to_end,
        _long_talk,
        _keeps_time,
        _caption_quality,
        _fanout,
        _concurrency,
        _faults,
        _costs,
    )
    return "".join(section(results) for section in sections)
