"""The cost model adds up what its price table and usage say, line by line."""

from __future__ import annotations

import pytest

from bench import cost
from bench.cost import PRICES, Usage, session_hour_cost


def test_transcribe_bills_fifteen_seconds_per_three_second_batch():
    usage = Usage(batch_seconds=3, speech_fraction=1.0)
    cost = session_hour_cost(usage)
    # 1200 requests an hour, each billed at the 15 s minimum: 300 minutes, not 60.
    assert cost["transcribe"] == pytest.approx(
        1200 * 15 / 60 * PRICES["transcribe_streaming_per_minute"], rel=1e-3
    )


def test_batches_of_fifteen_seconds_or_more_pay_for_audio_only():
    cost = session_hour_cost(Usage(batch_seconds=15, speech_fraction=1.0))
    assert cost["transcribe"] == pytest.approx(60 * PRICES["transcribe_streaming_per_minute"], rel=1e-3)


def test_silent_batches_cost_no_transcription():
    talk = session_hour_cost(Usage(speech_fraction=1.0))["transcribe"]
    half = session_hour_cost(Usage(speech_fraction=0.5))["transcribe"]
    assert half == pytest.approx(talk / 2, rel=1e-3)


def test_translation_and_speech_grow_with_languages_and_skip_the_source_language():
    one = session_hour_cost(Usage(target_languages=1))
    three = session_hour_cost(Usage(target_languages=3))
    assert three["translate"] == pytest.approx(3 * one["translate"], rel=1e-3)
    assert three["polly"] == pytest.approx(3 * one["polly"], rel=1e-3)
    same_language = session_hour_cost(Usage(target_languages=3, source_among_targets=True))
    assert same_language["translate"] == pytest.approx(2 * one["translate"], rel=1e-3)


def test_listeners_drive_delivery_costs_but_not_the_ai_services():
    few = session_hour_cost(Usage(listeners=10))
    many = session_hour_cost(Usage(listeners=1000))
    assert many["data_transfer"] == pytest.approx(100 * few["data_transfer"], rel=1e-3)
    assert many["api_gateway"] > few["api_gateway"]
    for line in ("transcribe", "translate", "polly"):
        assert many[line] == few[line]


def test_total_is_the_sum_of_the_lines():
    cost = session_hour_cost(Usage(target_languages=3, listeners=250))
    assert cost["total"] == pytest.approx(sum(v for k, v in cost.items() if k != "total"), abs=1e-3)


def test_standard_voices_cost_a_quarter_of_neural():
    neural = session_hour_cost(Usage(polly_engine="neural"))["polly"]
    standard = session_hour_cost(Usage(polly_engine="standard"))["polly"]
    assert standard == pytest.approx(neural / 4, rel=1e-3)


def test_one_stream_per_session_bills_the_audio_once():
    from bench.cost import StreamingUsage, streaming_session_hour_cost

    usage = StreamingUsage(speech_fraction=1.0)
    assert usage.recognition_streams == 5  # a handover every 12 minutes
    cost = streaming_session_hour_cost(usage)
    assert cost["transcribe"] == pytest.approx(60 * PRICES["transcribe_streaming_per_minute"], rel=1e-3)
    batches = session_hour_cost(Usage(speech_fraction=1.0))
    assert batches["transcribe"] == pytest.approx(5 * cost["transcribe"], rel=1e-3)


def test_streaming_total_is_the_sum_of_its_lines_and_grows_with_languages():
    from bench.cost import StreamingUsage, streaming_session_hour_cost

    one = streaming_session_hour_cost(StreamingUsage(target_languages=1))
    three = streaming_session_hour_cost(StreamingUsage(target_languages=3))
    assert one["total"] == pytest.approx(sum(v for k, v in one.items() if k != "total"), abs=1e-3)
    assert three["translate"] == pytest.approx(3 * one["translate"], rel=1e-3)
    assert three["transcribe"] == one["transcribe"]  # one stream whatever the audience


def test_five_thousand_listeners_need_fanout_pages_beyond_the_first_of_each_language():
    pages = cost.delivery_pages(cost.StreamingUsage(target_languages=1, listeners=5000))
    assert (pages.posted_here, pages.fanout_invocations) == (1000, 4)
    three = cost.delivery_pages(cost.StreamingUsage(target_languages=3, listeners=5000))
    assert (three.posted_here, three.fanout_invocations) == (3000, 3)  # 1,667 each: one extra page
    assert cost.delivery_pages(cost.StreamingUsage(listeners=100)).fanout_invocations == 0
    small = cost.streaming_session_hour_cost(cost.StreamingUsage(listeners=1000))
    large = cost.streaming_session_hour_cost(cost.StreamingUsage(listeners=5000))
    assert large["lambda"] > small["lambda"]  # the fan-out invocations are billed
    assert large["transcribe"] == small["transcribe"] and large["polly"] == small["polly"]


def test_cloudfront_costs_more_than_direct_s3_for_small_clips_at_5000_listeners():
    usage = cost.StreamingUsage(target_languages=3, listeners=5000)
    delivery = cost.clip_delivery_cost(usage)
    # The S3 side is exactly the model's own data transfer and clip GETs.
    line = cost.streaming_session_hour_cost(usage)["data_transfer"]
    assert delivery.s3_direct > line and delivery.saving < 0
    # With clips ten times larger the cheaper bytes would win.
    big = cost.clip_delivery_cost(cost.StreamingUsage(listeners=5000, clip_bytes_per_second=60_000))
    assert big.saving > 0


def test_live_text_costs_its_posts_and_invocations_and_at_most_a_quarter_more_translate():
    without = cost.streaming_session_hour_cost(
        cost.StreamingUsage(clauses_per_utterance=0, partials_per_speech_second=0)
    )
    live = cost.StreamingUsage()
    with_live = cost.streaming_session_hour_cost(live)
    assert with_live["api_gateway"] > without["api_gateway"]
    assert with_live["lambda"] > without["lambda"]
    assert live.extra_translate_fraction < 0.25
    assert with_live["translate"] <= without["translate"] * 1.25
    worst = cost.streaming_session_hour_cost(cost.StreamingUsage(extra_translate_fraction=0.25))
    assert worst["translate"] == pytest.approx(without["translate"] * 1.25, rel=1e-2)
